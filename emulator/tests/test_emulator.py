"""The local Datastreamer emulator over real HTTP: auth, sources, tasks.

The token, the control plane and the command line: test_emulator_control.py.
"""

from __future__ import annotations

import json

import pytest
import requests
from helpers import DOCUMENTED_SOURCES, KEY, PROVIDER, Client, task, when

from data365_emulator import Emulator, EmulatorConfig
from data365_emulator.posts import Post

# ---------------------------------------------------------------------------- auth


@pytest.mark.parametrize("headers", [{}, {"apikey": "wrong"}, {"Authorization": f"Bearer {KEY}"}])
def test_missing_or_wrong_key_is_401(emu: Emulator, headers: dict[str, str]) -> None:
    response = requests.get(emu.url + PROVIDER, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


@pytest.mark.parametrize("name", ["apikey", "apiKey", "APIKEY"])
def test_key_header_name_is_case_insensitive(emu: Emulator, name: str) -> None:
    assert requests.get(emu.url + PROVIDER, headers={name: KEY}, timeout=10).status_code == 200


def test_reject_key_refuses_everything_but_control(emu: Emulator, api: Client) -> None:
    emu.configure(reject_key=True)
    assert api.get(PROVIDER).status_code == 401
    assert requests.get(emu.url + "/_emulator/health", timeout=10).json()["status"] == "ok"


# ---------------------------------------------------------------------------- sources


@pytest.mark.parametrize("wrapper", [None, "data_sources", "sources", "data", "items", "results"])
@pytest.mark.parametrize("item", ["string", "object"])
def test_source_list_shapes(emu: Emulator, api: Client, wrapper: str | None, item: str) -> None:
    emu.configure(sources_wrapper=wrapper, sources_item=item)
    body = api.get(PROVIDER).json()
    items = body if wrapper is None else body[wrapper]
    names = items if item == "string" else [i["name"] for i in items]
    assert names == list(DOCUMENTED_SOURCES)
    if item == "object":
        assert items[0] == {"name": "facebook_hashtag", "display_name": "Facebook Hashtag",
                            "connected": True}  # fmt: skip


def test_unconnected_and_unknown_sources_are_404(emu: Emulator, api: Client) -> None:
    emu.configure(connected_sources=["twitter_keywords"])
    assert api.get(PROVIDER).json() == ["twitter_keywords"]
    for source in ("tiktok_music", "myspace_profile"):
        response = api.get(f"{PROVIDER}/{source}")
        assert response.status_code == 404
        assert response.json() == {"message": f"unknown data source: {source}"}


# ---------------------------------------------------------------------------- tasks


def test_create_returns_task_objects_and_list_shows_them(api: Client) -> None:
    created = api.create("twitter_keywords", task(update_interval=300, parameters={"lang": "en"}))
    assert len(created) == 1
    first = created[0]
    assert set(first) == {"id", "value", "from_date", "to_date", "update_interval", "parameters",
                          "status", "created", "updated"}  # fmt: skip
    assert first["status"] == "created"
    assert first["update_interval"] == 300
    assert first["parameters"] == {"lang": "en"}
    assert first["created"].endswith("Z")
    assert len(first["created"].split(".")[1]) == 7  # microseconds + Z
    assert api.get(f"{PROVIDER}/twitter_keywords").json() == created
    assert api.get(f"{PROVIDER}/tiktok_hashtag").json() == []


@pytest.mark.parametrize("key", ["id", "task_id", "taskId", "TaskId"])
def test_task_id_key(emu: Emulator, api: Client, key: str) -> None:
    emu.configure(task_id_key=key)
    created = api.create("tiktok_hashtag", task())[0]
    assert key in created
    assert api.get(f"{PROVIDER}/tiktok_hashtag/{created[key]}").json()[key] == created[key]


@pytest.mark.parametrize(("case", "expected"), [("lower", "created"), ("upper", "CREATED"),
                                                 ("title", "Created")])  # fmt: skip
def test_status_case(emu: Emulator, api: Client, case: str, expected: str) -> None:
    emu.configure(status_case=case)
    assert api.create("tiktok_hashtag", task())[0]["status"] == expected


@pytest.mark.parametrize("wrapper", [None, "tasks", "data", "items"])
def test_task_list_wrapper(emu: Emulator, api: Client, wrapper: str | None) -> None:
    emu.configure(tasks_wrapper=wrapper)
    api.create("tiktok_hashtag", task())
    body = api.get(f"{PROVIDER}/tiktok_hashtag").json()
    items = body if wrapper is None else body[wrapper]
    assert [t["value"] for t in items] == ["hellokitty"]


@pytest.mark.parametrize("wrapper", [None, "task", "data"])
def test_single_task_wrapper(emu: Emulator, api: Client, wrapper: str | None) -> None:
    emu.configure(task_wrapper=wrapper)
    task_id = api.create("tiktok_hashtag", task())[0]["id"]
    body = api.get(f"{PROVIDER}/tiktok_hashtag/{task_id}").json()
    assert (body if wrapper is None else body[wrapper])["id"] == task_id


def test_duplicates_are_appended_with_new_ids(api: Client) -> None:
    first = api.create("twitter_keywords", task(), task())
    second = api.create("twitter_keywords", task())
    ids = [t["id"] for t in first + second]
    assert len(set(ids)) == 3
    assert len(api.get(f"{PROVIDER}/twitter_keywords").json()) == 3


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("tiktok_hashtag", task(value="")),
        ("tiktok_hashtag", task(value="   ")),
        ("tiktok_hashtag", task(from_date="2023/09/01")),
        ("tiktok_hashtag", task(to_date="2023-09-31")),
        ("tiktok_hashtag", task(from_date="2023-09-13", to_date="2023-09-12")),
        ("tiktok_hashtag", {"value": "x", "from_date": "2023-09-01"}),
        ("tiktok_hashtag", task(update_interval=-5)),
        ("tiktok_hashtag", task(parameters=[1])),
        ("twitter_keywords", task(value="a" * 499)),
        ("twitter_profile", task(value="cp24 OR cnn")),
        ("twitter_profile", task(value="cp24 AND cnn")),
    ],
)
def test_invalid_task_rejects_whole_batch(api: Client, source: str, bad: dict[str, object]) -> None:
    response = api.post(f"{PROVIDER}/{source}", {"tasks": [task(), bad]})
    assert response.status_code == 400
    assert "tasks[1]" in response.json()["message"]
    assert api.get(f"{PROVIDER}/{source}").json() == []


def test_limits_that_are_allowed(api: Client) -> None:
    assert api.create("twitter_keywords", task(value="a" * 498), task(value="x AND y OR z"))
    assert api.create("twitter_profile", task(value="cp24"), task(from_date="2023-09-12"))


@pytest.mark.parametrize("body", [{}, {"tasks": []}, {"tasks": "x"}, [task()]])
def test_malformed_create_body_is_400(api: Client, body: object) -> None:
    assert api.post(f"{PROVIDER}/tiktok_hashtag", body).status_code == 400


def test_unknown_task_id_is_404(api: Client) -> None:
    for call in (api.get, api.delete):
        assert call(f"{PROVIDER}/tiktok_hashtag/nope").status_code == 404
    assert api.put(f"{PROVIDER}/tiktok_hashtag/nope/start").status_code == 404
    assert api.post(f"{PROVIDER}/tiktok_hashtag/nope/cancel").status_code == 404


def _status(api: Client, source: str, task_id: str) -> str:
    status: str = api.get(f"{PROVIDER}/{source}/{task_id}").json()["status"]
    return status


def _listed(api: Client, source: str) -> dict[str, str]:
    return {t["id"]: t["status"] for t in api.get(f"{PROVIDER}/{source}").json()}


@pytest.mark.parametrize("finish", ["complete", "finished"])
def test_lifecycle_start_poll_finish(emu: Emulator, api: Client, finish: str) -> None:
    emu.configure(finish_status=finish, list_status_lag=False)
    task_id = api.create("tiktok_hashtag", task())[0]["id"]
    started = api.put(f"{PROVIDER}/tiktok_hashtag/{task_id}/start")
    assert started.status_code == 200
    assert started.json()["status"] == "running"
    assert _status(api, "tiktok_hashtag", task_id) == "running"  # poll 1 of 2
    assert _status(api, "tiktok_hashtag", task_id) == finish
    assert _listed(api, "tiktok_hashtag") == {task_id: finish}


def test_polls_to_finish_and_updated_changes(emu: Emulator, api: Client) -> None:
    emu.configure(polls_to_finish=3)
    created = api.create("tiktok_hashtag", task())[0]
    task_id = created["id"]
    api.put(f"{PROVIDER}/tiktok_hashtag/{task_id}/start")
    seen = [api.get(f"{PROVIDER}/tiktok_hashtag/{task_id}").json() for _ in range(3)]
    assert [t["status"] for t in seen] == ["running", "running", "complete"]
    assert created["updated"] < seen[0]["updated"] < seen[2]["updated"]


def test_list_status_lags_until_next_single_read(api: Client) -> None:
    task_id = api.create("tiktok_hashtag", task())[0]["id"]
    api.put(f"{PROVIDER}/tiktok_hashtag/{task_id}/start")
    assert _listed(api, "tiktok_hashtag")[task_id] == "created"
    assert _status(api, "tiktok_hashtag", task_id) == "running"
    assert _listed(api, "tiktok_hashtag")[task_id] == "running"
    assert _status(api, "tiktok_hashtag", task_id) == "complete"
    assert _listed(api, "tiktok_hashtag")[task_id] == "running"  # lags one read behind
    assert _status(api, "tiktok_hashtag", task_id) == "complete"
    assert _listed(api, "tiktok_hashtag")[task_id] == "complete"


def test_alternate_finish_status(emu: Emulator, api: Client) -> None:
    emu.configure(finish_status="alternate")
    api.create("tiktok_hashtag", task(), task(value="cats"))
    api.put(f"{PROVIDER}/tiktok_hashtag/start-all")
    emu.finish_running_tasks()
    statuses = sorted(api.get(f"{PROVIDER}/tiktok_hashtag/{i}").json()["status"]
                      for i in _listed(api, "tiktok_hashtag"))  # fmt: skip
    assert statuses == ["complete", "finished"]


@pytest.mark.parametrize("fail_status", ["failed", "fail"])
def test_value_with_fail_ends_failed_without_posts(
    emu: Emulator, api: Client, fail_status: str
) -> None:
    emu.configure(fail_status=fail_status)
    task_id = api.create("tiktok_music", task(value="please-fail"))[0]["id"]
    api.put(f"{PROVIDER}/tiktok_music/{task_id}/start")
    assert emu.finish_running_tasks() == [task_id]
    assert _status(api, "tiktok_music", task_id) == fail_status
    assert emu.post_count("tiktok_music") == 0


def test_start_all_cancel_all_cancel_and_delete(emu: Emulator, api: Client) -> None:
    ids = [t["id"] for t in api.create("tiktok_music", task(), task(), task())]
    started = api.put(f"{PROVIDER}/tiktok_music/start-all")
    assert [t["status"] for t in started.json()] == ["running"] * 3
    cancel = api.post(f"{PROVIDER}/tiktok_music/{ids[0]}/cancel")
    assert cancel.json()["status"] == "canceled"
    assert api.post(f"{PROVIDER}/tiktok_music/cancel-all").status_code == 200
    assert {_status(api, "tiktok_music", i) for i in ids} == {"canceled"}
    assert api.delete(f"{PROVIDER}/tiktok_music/{ids[1]}").status_code == 200
    assert set(_listed(api, "tiktok_music")) == {ids[0], ids[2]}
    assert emu.finish_running_tasks() == []


def test_chunked_request_body(api: Client) -> None:
    body = json.dumps({"tasks": [task()]}).encode()
    chunks = iter([body[:10], body[10:]])
    response = api.session.post(api.url + f"{PROVIDER}/tiktok_music", data=chunks, timeout=10)
    assert response.status_code == 200
    assert api.get(f"{PROVIDER}/tiktok_music").json()[0]["value"] == "hellokitty"


def test_wrong_method_is_405(api: Client) -> None:
    assert api.post(f"{PROVIDER}/tiktok_music/start-all").status_code == 405
    assert api.get("/api/search").status_code == 405


def test_finished_task_posts_become_searchable(emu: Emulator, api: Client) -> None:
    task_id = api.create("instagram_hashtag", task(value="zebra", from_date="2024-02-01",
                                                   to_date="2024-02-03"))[0]["id"]  # fmt: skip
    api.put(f"{PROVIDER}/instagram_hashtag/start-all")
    assert emu.post_count("instagram_hashtag") == 0
    assert api.search("*", ["data365_instagram_hashtag"]).json()["results"] == []
    for _ in range(2):
        api.get(f"{PROVIDER}/instagram_hashtag/{task_id}")
    assert emu.post_count("instagram_hashtag") == 300
    posts = api.hits("zebra", ["data365_instagram_hashtag"])
    assert len(posts) == 300
    assert len({p["id"] for p in posts}) == 300
    finished = api.get(f"{PROVIDER}/instagram_hashtag/{task_id}").json()["updated"]
    for post in posts:
        assert post["content"]["found_by"] == task_id
        assert post["content"]["found"] == finished
        assert post["id"].endswith("-data365_instagram_hashtag")
        published = when(post["doc_date"])
        assert when("2024-02-01") <= published < when("2024-02-04")
    # A rerun (a repeating task) finds a few new posts, with new ids.
    api.put(f"{PROVIDER}/instagram_hashtag/{task_id}/start")
    emu.finish_running_tasks()
    assert emu.post_count("instagram_hashtag") == 300 + emu.config.rerun_posts
    ids = {p["id"] for p in api.hits("zebra", ["data365_instagram_hashtag"])}
    assert len(ids) == 300 + emu.config.rerun_posts


def test_add_task_seeds_duplicates_and_done_tasks(emu: Emulator, api: Client) -> None:
    first = emu.add_task("tiktok_profile", "same", "2024-01-01", "2024-01-01")
    second = emu.add_task("tiktok_profile", "same", "2024-01-01", "2024-01-01", status="complete")
    assert first != second
    assert _listed(api, "tiktok_profile") == {first: "created", second: "complete"}
    assert emu.post_count("tiktok_profile") == 300


def test_seed_tasks_cover_seeded_posts() -> None:
    with Emulator(EmulatorConfig(seed_tasks=True, scale=0.1)) as emu:
        client = Client(emu.url)
        tasks = client.get(f"{PROVIDER}/linkedin_company").json()
        assert len(tasks) == 12
        assert {t["status"] for t in tasks} == {"complete"}
        posts = client.hits("*", ["data365_linkedin_company"])
        assert {p["content"]["found_by"] for p in posts} <= {t["id"] for t in tasks}


def test_generator_words_match_lazily_computed_words(emu: Emulator) -> None:
    emu.add_task("tiktok_music", "Slowly-Song/6669854674113317638", "2024-01-01", "2024-01-01",
                 status="complete")  # fmt: skip
    for source in ("twitter_keywords", "tiktok_music"):
        for post in list(emu.indexes.get(source))[:2000]:
            assert Post(post.doc, post.instant).default_words == post.default_words
