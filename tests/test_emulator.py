"""The local Datastreamer emulator, over real HTTP (and its Lucene parser, directly)."""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from tap_harness import when

from tap_data365.emulator import Emulator, EmulatorConfig, lucene
from tap_data365.emulator import server as server_mod
from tap_data365.emulator.posts import Post, words
from tap_data365.normalize import KNOWN_SOURCES

KEY = "test-key"
TWITTER = "data365_twitter_keywords"
PROVIDER = "/api/data-providers/data365"
ROOT = Path(__file__).resolve().parents[1]


class Client:
    """A keep-alive session bound to one emulator."""

    def __init__(self, url: str, key: str | None = KEY) -> None:
        self.url = url
        self.session = requests.Session()
        if key is not None:
            self.session.headers["apikey"] = key

    def get(self, path: str, **kw):
        return self.session.get(self.url + path, timeout=30, **kw)

    def post(self, path: str, payload=None, **kw):
        return self.session.post(self.url + path, json=payload, timeout=30, **kw)

    def put(self, path: str, payload=None, **kw):
        return self.session.put(self.url + path, json=payload, timeout=30, **kw)

    def delete(self, path: str, **kw):
        return self.session.delete(self.url + path, timeout=30, **kw)

    def search(self, query: str, sources=(TWITTER,), size=100, start=0, **extra):
        body = {"query": {"from": start, "size": size, "query": query,
                          "data_sources": list(sources), **extra}}  # fmt: skip
        return self.post("/api/search", body)

    def hits(self, query: str, sources=(TWITTER,), **extra) -> list[dict[str, Any]]:
        """Every result of a query (it must have at most 10,000)."""
        out: list[dict[str, Any]] = []
        for start in range(0, 10_000, 100):
            response = self.search(query, sources, start=start, **extra)
            assert response.status_code == 200, response.text
            page = response.json()["results"]
            out.extend(page)
            if len(page) < 100:
                return out
        raise AssertionError("query has more than 10,000 hits")

    def create(self, source: str, *tasks: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.post(f"{PROVIDER}/{source}", {"tasks": list(tasks)})
        assert response.status_code == 200, response.text
        created: list[dict[str, Any]] = response.json()["tasks"]
        return created


def task(
    value="hellokitty", from_date="2023-09-01", to_date="2023-09-12", **more
) -> dict[str, Any]:
    return {"value": value, "from_date": from_date, "to_date": to_date, **more}


@pytest.fixture
def emu():
    with Emulator(EmulatorConfig()) as emulator:
        yield emulator


@pytest.fixture
def api(emu) -> Client:
    return Client(emu.url)


# ---------------------------------------------------------------------------- auth


@pytest.mark.parametrize("headers", [{}, {"apikey": "wrong"}, {"Authorization": f"Bearer {KEY}"}])
def test_missing_or_wrong_key_is_401(emu, headers):
    response = requests.get(emu.url + PROVIDER, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


@pytest.mark.parametrize("name", ["apikey", "apiKey", "APIKEY"])
def test_key_header_name_is_case_insensitive(emu, name):
    assert requests.get(emu.url + PROVIDER, headers={name: KEY}, timeout=10).status_code == 200


def test_reject_key_refuses_everything_but_control(emu, api):
    emu.configure(reject_key=True)
    assert api.get(PROVIDER).status_code == 401
    assert requests.get(emu.url + "/_emulator/health", timeout=10).json()["status"] == "ok"


# ---------------------------------------------------------------------------- sources


@pytest.mark.parametrize("wrapper", [None, "data_sources", "sources", "data", "items", "results"])
@pytest.mark.parametrize("item", ["string", "object"])
def test_source_list_shapes(emu, api, wrapper, item):
    emu.configure(sources_wrapper=wrapper, sources_item=item)
    body = api.get(PROVIDER).json()
    items = body if wrapper is None else body[wrapper]
    names = items if item == "string" else [i["name"] for i in items]
    assert names == list(KNOWN_SOURCES)
    if item == "object":
        assert items[0] == {"name": "facebook_hashtag", "display_name": "Facebook Hashtag",
                            "connected": True}  # fmt: skip


def test_unconnected_and_unknown_sources_are_404(emu, api):
    emu.configure(connected_sources=["twitter_keywords"])
    assert api.get(PROVIDER).json() == ["twitter_keywords"]
    for source in ("tiktok_music", "myspace_profile"):
        response = api.get(f"{PROVIDER}/{source}")
        assert response.status_code == 404
        assert response.json() == {"message": f"unknown data source: {source}"}


# ---------------------------------------------------------------------------- tasks


def test_create_returns_task_objects_and_list_shows_them(api):
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
def test_task_id_key(emu, api, key):
    emu.configure(task_id_key=key)
    created = api.create("tiktok_hashtag", task())[0]
    assert key in created
    assert api.get(f"{PROVIDER}/tiktok_hashtag/{created[key]}").json()[key] == created[key]


@pytest.mark.parametrize(("case", "expected"), [("lower", "created"), ("upper", "CREATED"),
                                                 ("title", "Created")])  # fmt: skip
def test_status_case(emu, api, case, expected):
    emu.configure(status_case=case)
    assert api.create("tiktok_hashtag", task())[0]["status"] == expected


@pytest.mark.parametrize("wrapper", [None, "tasks", "data", "items"])
def test_task_list_wrapper(emu, api, wrapper):
    emu.configure(tasks_wrapper=wrapper)
    api.create("tiktok_hashtag", task())
    body = api.get(f"{PROVIDER}/tiktok_hashtag").json()
    items = body if wrapper is None else body[wrapper]
    assert [t["value"] for t in items] == ["hellokitty"]


@pytest.mark.parametrize("wrapper", [None, "task", "data"])
def test_single_task_wrapper(emu, api, wrapper):
    emu.configure(task_wrapper=wrapper)
    task_id = api.create("tiktok_hashtag", task())[0]["id"]
    body = api.get(f"{PROVIDER}/tiktok_hashtag/{task_id}").json()
    assert (body if wrapper is None else body[wrapper])["id"] == task_id


def test_duplicates_are_appended_with_new_ids(api):
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
def test_invalid_task_rejects_whole_batch(api, source, bad):
    response = api.post(f"{PROVIDER}/{source}", {"tasks": [task(), bad]})
    assert response.status_code == 400
    assert "tasks[1]" in response.json()["message"]
    assert api.get(f"{PROVIDER}/{source}").json() == []


def test_limits_that_are_allowed(api):
    assert api.create("twitter_keywords", task(value="a" * 498), task(value="x AND y OR z"))
    assert api.create("twitter_profile", task(value="cp24"), task(from_date="2023-09-12"))


@pytest.mark.parametrize("body", [{}, {"tasks": []}, {"tasks": "x"}, [task()]])
def test_malformed_create_body_is_400(api, body):
    assert api.post(f"{PROVIDER}/tiktok_hashtag", body).status_code == 400


def test_unknown_task_id_is_404(api):
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
def test_lifecycle_start_poll_finish(emu, api, finish):
    emu.configure(finish_status=finish, list_status_lag=False)
    task_id = api.create("tiktok_hashtag", task())[0]["id"]
    started = api.put(f"{PROVIDER}/tiktok_hashtag/{task_id}/start")
    assert started.status_code == 200
    assert started.json()["status"] == "running"
    assert _status(api, "tiktok_hashtag", task_id) == "running"  # poll 1 of 2
    assert _status(api, "tiktok_hashtag", task_id) == finish
    assert _listed(api, "tiktok_hashtag") == {task_id: finish}


def test_polls_to_finish_and_updated_changes(emu, api):
    emu.configure(polls_to_finish=3)
    created = api.create("tiktok_hashtag", task())[0]
    task_id = created["id"]
    api.put(f"{PROVIDER}/tiktok_hashtag/{task_id}/start")
    seen = [api.get(f"{PROVIDER}/tiktok_hashtag/{task_id}").json() for _ in range(3)]
    assert [t["status"] for t in seen] == ["running", "running", "complete"]
    assert created["updated"] < seen[0]["updated"] < seen[2]["updated"]


def test_list_status_lags_until_next_single_read(api):
    task_id = api.create("tiktok_hashtag", task())[0]["id"]
    api.put(f"{PROVIDER}/tiktok_hashtag/{task_id}/start")
    assert _listed(api, "tiktok_hashtag")[task_id] == "created"
    assert _status(api, "tiktok_hashtag", task_id) == "running"
    assert _listed(api, "tiktok_hashtag")[task_id] == "running"
    assert _status(api, "tiktok_hashtag", task_id) == "complete"
    assert _listed(api, "tiktok_hashtag")[task_id] == "running"  # lags one read behind
    assert _status(api, "tiktok_hashtag", task_id) == "complete"
    assert _listed(api, "tiktok_hashtag")[task_id] == "complete"


def test_alternate_finish_status(emu, api):
    emu.configure(finish_status="alternate")
    api.create("tiktok_hashtag", task(), task(value="cats"))
    api.put(f"{PROVIDER}/tiktok_hashtag/start-all")
    emu.finish_running_tasks()
    statuses = sorted(api.get(f"{PROVIDER}/tiktok_hashtag/{i}").json()["status"]
                      for i in _listed(api, "tiktok_hashtag"))  # fmt: skip
    assert statuses == ["complete", "finished"]


@pytest.mark.parametrize("fail_status", ["failed", "fail"])
def test_value_with_fail_ends_failed_without_posts(emu, api, fail_status):
    emu.configure(fail_status=fail_status)
    task_id = api.create("tiktok_music", task(value="please-fail"))[0]["id"]
    api.put(f"{PROVIDER}/tiktok_music/{task_id}/start")
    assert emu.finish_running_tasks() == [task_id]
    assert _status(api, "tiktok_music", task_id) == fail_status
    assert emu.post_count("tiktok_music") == 0


def test_start_all_cancel_all_cancel_and_delete(emu, api):
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


def test_chunked_request_body(api):
    body = json.dumps({"tasks": [task()]}).encode()
    chunks = iter([body[:10], body[10:]])
    response = api.session.post(api.url + f"{PROVIDER}/tiktok_music", data=chunks, timeout=10)
    assert response.status_code == 200
    assert api.get(f"{PROVIDER}/tiktok_music").json()[0]["value"] == "hellokitty"


def test_wrong_method_is_405(api):
    assert api.post(f"{PROVIDER}/tiktok_music/start-all").status_code == 405
    assert api.get("/api/search").status_code == 405


def test_finished_task_posts_become_searchable(emu, api):
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


def test_add_task_seeds_duplicates_and_done_tasks(emu, api):
    first = emu.add_task("tiktok_profile", "same", "2024-01-01", "2024-01-01")
    second = emu.add_task("tiktok_profile", "same", "2024-01-01", "2024-01-01", status="complete")
    assert first != second
    assert _listed(api, "tiktok_profile") == {first: "created", second: "complete"}
    assert emu.post_count("tiktok_profile") == 300


def test_seed_tasks_cover_seeded_posts():
    with Emulator(EmulatorConfig(seed_tasks=True, scale=0.1)) as emu:
        client = Client(emu.url)
        tasks = client.get(f"{PROVIDER}/linkedin_company").json()
        assert len(tasks) == 12
        assert {t["status"] for t in tasks} == {"complete"}
        posts = client.hits("*", ["data365_linkedin_company"])
        assert {p["content"]["found_by"] for p in posts} <= {t["id"] for t in tasks}


# ---------------------------------------------------------------------------- search limits


@pytest.mark.parametrize(
    ("size", "start"), [(101, 0), (0, 0), (-1, 0), (10, 9901), (10, -1), ("10", 0), (True, 0)]
)
def test_search_limits_are_400(api, size, start):
    response = api.search("*", size=size, start=start)
    assert response.status_code == 400
    assert response.json()["message"]


def test_search_accepts_the_edges_and_defaults(api):
    assert len(api.search("*", size=100, start=9900).json()["results"]) == 100
    body = {"query": {"query": "*", "data_sources": [TWITTER]}}
    response = api.post("/api/search?keep_alive_seconds=60", body)
    assert len(response.json()["results"]) == 10  # default size
    assert "total" not in response.json()


@pytest.mark.parametrize(
    "sources", [["twitter_keywords"], ["data365_myspace"], ["wsl_twitter"], [], "x", [1]]
)
def test_unknown_data_source_is_400(api, sources):
    assert api.search("*", sources=sources).status_code == 400


def test_overlong_query_bad_json_and_bad_syntax_are_400(api):
    assert api.search("a" * 4097).status_code == 400
    assert api.search("a" * 4096).status_code == 200
    raw = api.session.post(api.url + "/api/search", data=b"{nope", timeout=10)
    assert raw.status_code == 400
    for bad in ("(covid", "covid AND", "doc_date:[2024 TO", "doc_date:[yesterday TO *]"):
        assert api.search(bad).status_code == 400, bad


def test_count_and_total(emu, api):
    count = api.post("/api/count", {"query": {"query": "*", "data_sources": [TWITTER]}})
    assert count.json() == {"total": {"value": 25_000}}
    covid = api.post("/api/count", {"query": {"query": "covid", "data_sources": [TWITTER]}})
    assert 0 < covid.json()["total"]["value"] < 25_000
    emu.configure(include_total=True)
    assert api.search("covid", size=5).json()["total"] == covid.json()["total"]


# ---------------------------------------------------------------------------- seeded data


def test_seeded_indexes_and_document_shape(emu):
    counts = {s: emu.post_count(s) for s in KNOWN_SOURCES}
    assert counts["twitter_keywords"] == 25_000
    assert counts["tiktok_hashtag"] == 3_000
    assert counts["instagram_profile"] == 1_200
    assert counts["facebook_profile"] == 600
    assert counts["linkedin_company"] == 300
    assert sum(counts.values()) == 30_100
    docs = [p.doc for p in emu.indexes.get("twitter_keywords")]
    assert all(d["id"].isdigit() for d in docs)
    assert all(when(d["doc_date"]) == when(d["content"]["published"])
               for d in docs[:500])  # fmt: skip
    shapes = {("Z" in d["doc_date"], "+" in d["doc_date"], len(d["doc_date"])) for d in docs}
    assert len(shapes) == 4  # no zone, Z, microseconds Z, +00:00
    assert any("extra_field_v2" in d for d in docs)
    per_date = collections.Counter(d["doc_date"] for d in docs)
    assert per_date.most_common(1)[0][1] > 1  # some posts share a doc_date
    weeks = collections.Counter(when(d["doc_date"]).isocalendar()[1] for d in docs)
    assert max(weeks.values()) > 3000
    assert min(weeks.values()) < 100
    facebook = next(iter(emu.indexes.get("facebook_profile"))).doc
    assert facebook["id"].endswith("-data365_facebook_profile")
    assert {"source", "content", "author", "enrichment", "facebook"} <= set(facebook)


def test_scale_and_empty():
    with Emulator(EmulatorConfig(scale=0.01)) as emu:
        assert emu.post_count("twitter_keywords") == 250
    with Emulator(EmulatorConfig(empty=True)) as emu:
        assert emu.post_count("twitter_keywords") == 0
        assert Client(emu.url).search("*").json()["results"] == []


def test_monthly_windows_page_every_post_exactly_once(api):
    seen: collections.Counter[str] = collections.Counter()
    for month in range(1, 13):
        low = f"2024-{month:02d}-01T00:00:00Z"
        high = f"{2024 + month // 12}-{month % 12 + 1:02d}-01T00:00:00Z"
        for post in api.hits(f"doc_date:[{low} TO {high}}}"):
            seen[post["id"]] += 1
            assert low <= _utc(post["doc_date"]) < high
    assert len(seen) == 25_000
    assert set(seen.values()) == {1}


def _utc(text: str) -> str:
    moment = when(text)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if not moment.microsecond else moment.isoformat()


# ---------------------------------------------------------------------------- Lucene


def _ids(api: Client, query: str, sources=(TWITTER,)) -> set[str]:
    return {p["id"] for p in api.hits(query, sources)}


def _words_of(post: dict[str, Any]) -> set[str]:
    return _body_words(post) | set(post["content"]["hashtags"])


def _body_words(post: dict[str, Any]) -> set[str]:
    return set(lucene_words(post["content"]["body"]))


def lucene_words(text: str) -> list[str]:
    return words(text)


SMALL = "data365_linkedin_company"


def test_terms_and_boolean_operators(api):
    everything = api.hits("*", [SMALL])
    assert len(everything) == 300
    by_id = {p["id"]: p for p in everything}

    def expect(predicate) -> set[str]:
        return {i for i, p in by_id.items() if predicate(_words_of(p))}

    covid = expect(lambda w: "covid" in w)
    assert 0 < len(covid) < 300
    assert _ids(api, "covid", [SMALL]) == covid
    assert _ids(api, "COVID", [SMALL]) == covid
    assert _ids(api, "covid AND tesla", [SMALL]) == expect(lambda w: {"covid", "tesla"} <= w)
    assert _ids(api, "covid tesla", [SMALL]) == expect(lambda w: {"covid", "tesla"} <= w)
    assert _ids(api, "covid && tesla", [SMALL]) == expect(lambda w: {"covid", "tesla"} <= w)
    assert _ids(api, "covid OR tesla", [SMALL]) == expect(lambda w: bool({"covid", "tesla"} & w))
    assert _ids(api, "covid || tesla", [SMALL]) == expect(lambda w: bool({"covid", "tesla"} & w))
    assert _ids(api, "covid AND NOT tesla", [SMALL]) == expect(
        lambda w: "covid" in w and "tesla" not in w
    )
    assert _ids(api, "covid -tesla", [SMALL]) == _ids(api, "covid AND NOT tesla", [SMALL])
    assert _ids(api, "NOT covid", [SMALL]) == set(by_id) - covid
    assert _ids(api, "(covid OR tesla) AND bitcoin", [SMALL]) == expect(
        lambda w: bool({"covid", "tesla"} & w) and "bitcoin" in w
    )
    assert _ids(api, "covid OR (tesla AND bitcoin)", [SMALL]) == expect(
        lambda w: "covid" in w or {"tesla", "bitcoin"} <= w
    )
    assert _ids(api, "cov*", [SMALL]) == covid


def test_phrases_and_fields(api):
    everything = api.hits("*", [SMALL])
    sample = everything[7]
    body = sample["content"]["body"]
    first_two = " ".join(lucene_words(body)[:2])
    phrase_hits = _ids(api, f'"{first_two}"', [SMALL])
    assert sample["id"] in phrase_hits
    padded = {p["id"]: " " + " ".join(lucene_words(p["content"]["body"])) + " " for p in everything}
    assert phrase_hits == {i for i, text in padded.items() if f" {first_two} " in text}
    handle = sample["author"]["handle"]
    assert sample["id"] in _ids(api, f'author.handle:"{handle}"', [SMALL])
    assert _ids(api, f"author.handle:{handle}", [SMALL]) == {
        p["id"] for p in everything if p["author"]["handle"] == handle
    }
    spanish = _ids(api, "enrichment.language:es", [SMALL])
    assert spanish == {p["id"] for p in everything if p["enrichment"]["language"] == "es"}
    assert _ids(api, f'id:"{sample["id"]}"', [SMALL]) == {sample["id"]}
    grouped = _ids(api, "content.body:(covid OR tesla)", [SMALL])
    assert grouped == {p["id"] for p in everything if {"covid", "tesla"} & _body_words(p)}


def test_date_range_brackets_and_open_ends(api):
    posts = sorted(api.hits("*", [SMALL]), key=lambda p: when(p["doc_date"]))
    a, b = posts[100], posts[200]
    ta, tb = (when(p["doc_date"]) for p in (a, b))
    fa, fb = (t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for t in (ta, tb))

    def window(query: str) -> set[str]:
        return _ids(api, query, [SMALL])

    def expect(lo_ok, hi_ok) -> set[str]:
        stamps = {p["id"]: when(p["doc_date"]) for p in posts}
        return {i for i, t in stamps.items() if lo_ok(t) and hi_ok(t)}

    assert window(f"doc_date:[{fa} TO {fb}]") == expect(lambda t: t >= ta, lambda t: t <= tb)
    assert window(f"doc_date:{{{fa} TO {fb}}}") == expect(lambda t: t > ta, lambda t: t < tb)
    assert window(f"doc_date:[{fa} TO {fb}}}") == expect(lambda t: t >= ta, lambda t: t < tb)
    assert window(f"doc_date:{{{fa} TO {fb}]") == expect(lambda t: t > ta, lambda t: t <= tb)
    assert window(f'doc_date:["{fa}" TO "{fb}"}}') == expect(lambda t: t >= ta, lambda t: t < tb)
    assert window(f"doc_date:[* TO {fb}}}") == expect(lambda t: True, lambda t: t < tb)
    assert window(f"doc_date:[{fa} TO *]") == expect(lambda t: t >= ta, lambda t: True)
    assert window("doc_date:[* TO *]") == {p["id"] for p in posts}
    assert a["id"] in window(f"doc_date:[{fa} TO {fa}]")
    # Same instant, another spelling: compared as instants, not strings.
    plus = ta.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    assert window(f'content.published:["{plus}" TO "{plus}"]') == window(f"doc_date:[{fa} TO {fa}]")
    # A range combined with terms, and ranges on content.found.
    assert window(f"(covid OR tesla) AND doc_date:[{fa} TO {fb}}}") == (
        window("covid OR tesla") & window(f"doc_date:[{fa} TO {fb}}}")
    )
    found = sorted(when(p["content"]["found"]) for p in posts)[150]
    cut = found.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert window(f"content.found:[* TO {cut}}}") == {
        p["id"] for p in posts if when(p["content"]["found"]) < found
    }


def test_parser_trees():
    T, P, R = lucene.Term, lucene.Phrase, lucene.Range
    assert lucene.parse("") == lucene.MatchAll()
    assert lucene.parse("*") == lucene.MatchAll()
    assert lucene.parse("*:*") == lucene.MatchAll()
    assert lucene.parse("a b") == lucene.And((T(None, "a"), T(None, "b")))
    assert lucene.parse("a OR b AND c") == lucene.Or(
        (T(None, "a"), lucene.And((T(None, "b"), T(None, "c"))))
    )
    assert lucene.parse("NOT a") == lucene.Not(T(None, "a"))
    assert lucene.parse('f:"x y"') == P("f", "x y")
    assert lucene.parse("f:(a OR b)") == lucene.Or((T("f", "a"), T("f", "b")))
    assert lucene.parse("covid-19") == T(None, "covid-19")
    assert lucene.parse(r"a\:b") == T(None, "a:b")
    assert lucene.parse("ANDROID") == T(None, "ANDROID")
    assert lucene.parse("d:[2024-01-01T00:00:00Z TO *}") == R(
        "d", "2024-01-01T00:00:00Z", None, include_low=True, include_high=False
    )
    assert lucene.parse('(q) AND doc_date:{"a b" TO c]') == lucene.And(
        (T(None, "q"), R("doc_date", "a b", "c", include_low=False, include_high=True))
    )
    for bad in ("(a", "a)", "a AND", "OR a", "[a TO b]", "f:[a b]", '"open', "f:", "a:b:c"):
        with pytest.raises(lucene.LuceneError):
            lucene.parse(bad)


# ---------------------------------------------------------------------------- order


def _order_ids(api: Client, **extra) -> list[str]:
    return [p["id"] for p in api.search("*", [SMALL], **extra).json()["results"]]


def test_relevance_order_is_stable_and_not_by_date(emu, api):
    first = [p["doc_date"] for p in api.hits("*", [SMALL])]
    again = [p["doc_date"] for p in api.hits("*", [SMALL])]
    assert first == again
    instants = [when(d) for d in first]
    assert instants not in (sorted(instants), sorted(instants, reverse=True))
    emu.configure(search_order="doc_date_desc")
    desc = [when(p["doc_date"]) for p in api.hits("*", [SMALL])]
    assert desc == sorted(desc, reverse=True)
    emu.configure(search_order="doc_date_asc")
    asc = [when(p["doc_date"]) for p in api.hits("*", [SMALL])]
    assert asc == sorted(asc)


def test_explicit_sort_is_honoured_unless_disabled(emu, api):
    sort = [{"field": "content.published", "order": "ASC"}]
    asc = [when(p["doc_date"]) for p in api.hits("*", [SMALL], sort=sort)]
    assert asc == sorted(asc)
    emu.configure(honour_sort=False)
    assert _order_ids(api, sort=sort) == _order_ids(api)
    assert api.search("*", [SMALL], sort=[{"field": "x", "order": "up"}]).status_code == 200
    emu.configure(honour_sort=True)
    assert api.search("*", [SMALL], sort=[{"field": "x", "order": "up"}]).status_code == 400


def test_search_after_pages_by_doc_date(api):
    sort = [{"field": "doc_date", "order": "desc"}]
    all_ids = [p["id"] for p in api.hits("*", [SMALL], sort=sort)]
    body = {"query": {"query": "*", "data_sources": [SMALL], "sort": sort, "size": 100}}
    first = api.post("/api/search", body).json()
    assert [p["id"] for p in first["results"]] == all_ids[:100]
    last = first["results"][-1]
    assert first["search_after"] == [str(int(when(last["doc_date"]).timestamp() * 1000))]
    body["query"]["search_after"] = first["search_after"]
    second = api.post("/api/search", body).json()["results"]
    assert second
    assert all(when(p["doc_date"]) < when(last["doc_date"]) for p in second)


# ---------------------------------------------------------------------------- faults


@pytest.mark.parametrize("kind", ["429", "503", "500"])
def test_fail_next_status_faults(emu, api, kind):
    emu.configure(fail_next=[kind])
    response = api.get(PROVIDER)
    assert response.status_code == int(kind)
    assert ("Retry-After" in response.headers) == (kind == "429")
    assert api.get(PROVIDER).status_code == 200  # only the next request
    assert [r.status for r in emu.requests] == [int(kind), 200]


@pytest.mark.parametrize(("seconds", "header"), [(1, "1"), (0, "0"), (2.5, "2.5")])
def test_retry_after_header(emu, api, seconds, header):
    emu.configure(fail_next=["429"], retry_after=seconds)
    assert api.get(PROVIDER).headers["Retry-After"] == header


def test_drop_closes_without_response_and_next_request_works(emu, api):
    emu.configure(fail_next=["drop", "429"])
    with pytest.raises(requests.ConnectionError):
        api.search("*")
    assert api.search("*").status_code == 429
    assert api.search("*").status_code == 200
    assert [r.status for r in emu.requests] == [0, 429, 200]


def test_faults_spare_control_endpoints(emu):
    emu.configure(fault_rate=1.0, fault_kinds=["503"])
    assert requests.get(emu.url + "/_emulator/health", timeout=10).status_code == 200
    assert Client(emu.url).get(PROVIDER).status_code == 503


def _fault_pattern(seed: int) -> list[int]:
    cfg = EmulatorConfig(seed=seed, fault_rate=0.5, fault_kinds=("429", "503", "500"), empty=True)
    with Emulator(cfg) as emu:
        client = Client(emu.url)
        return [client.get(PROVIDER).status_code for _ in range(40)]


def test_fault_rate_is_deterministic_per_seed():
    pattern = _fault_pattern(7)
    assert pattern == _fault_pattern(7)
    assert {200, 429, 503, 500} <= set(pattern)
    assert pattern != _fault_pattern(8)


def test_latency_sleeps_in_handler(emu, api, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(server_mod, "sleep", slept.append)
    api.get(PROVIDER)
    emu.configure(latency_ms=250)
    api.get(PROVIDER)
    requests.get(emu.url + "/_emulator/health", timeout=10)  # control: never delayed
    assert slept == [0.25]


def test_config_validation(emu):
    with pytest.raises(ValueError, match="fault"):
        emu.configure(fault_kinds=["418"])
    with pytest.raises(ValueError, match="unknown config"):
        emu.configure(no_such_field=1)
    with pytest.raises(ValueError, match="task_id_key"):
        EmulatorConfig(task_id_key="uuid")
    with pytest.raises(ValueError, match="loopback"):
        Emulator(host="0.0.0.0")  # the point of the test


# ---------------------------------------------------------------------------- token


def test_token_register_replace_delete_and_redaction(emu, api):
    secret = "d365-super-secret-token"
    assert api.get("/api/data-sources/data365").json() == {"registered": False}
    responses = [api.put("/api/data-sources/data365", {"token": secret + "-old"}),
                 api.put("/api/data-sources/data365", {"token": secret})]  # fmt: skip
    assert [r.json() for r in responses] == [{"status": "ok"}] * 2
    assert emu.token == secret
    assert api.get("/api/data-sources/data365").json() == {"registered": True}
    assert api.put("/api/data-sources/data365", {"token": ""}).status_code == 400
    assert api.delete("/api/data-sources/data365").status_code == 200
    assert api.get("/api/data-sources/data365").json() == {"registered": False}
    assert emu.requests[1].body == {"token": "***"}
    over_http = requests.get(emu.url + "/_emulator/requests", timeout=10).text
    assert secret not in over_http
    assert secret not in repr(emu.requests)
    assert all(secret not in r.text for r in responses)


# ---------------------------------------------------------------------------- control plane


def test_control_endpoints_over_http(emu, api):
    control = emu.url + "/_emulator"
    api.search("covid", size=3)
    log = requests.get(control + "/requests", timeout=10).json()
    assert log == [{"method": "POST", "path": "/api/search", "status": 200, "query": None,
                    "body": {"query": {"from": 0, "size": 3, "query": "covid",
                                       "data_sources": [TWITTER]}}}]  # fmt: skip
    assert requests.delete(control + "/requests", timeout=10).status_code == 200
    assert emu.requests == []
    changed = requests.post(control + "/config", json={"task_id_key": "TaskId"}, timeout=10)
    assert changed.json()["task_id_key"] == "TaskId"
    assert emu.config.task_id_key == "TaskId"
    bad = requests.post(control + "/config", json={"status_case": "camel"}, timeout=10)
    assert bad.status_code == 400
    task_id = api.create("tiktok_keywords", task())[0]["TaskId"]
    api.put(f"{PROVIDER}/tiktok_keywords/start-all")
    finished = requests.post(control + "/finish-running-tasks", timeout=10).json()
    assert finished == {"finished": [task_id]}
    added = requests.post(control + "/tasks", timeout=10, json={
        "source": "tiktok_keywords", "value": "v", "from_date": "2024-01-01",
        "to_date": "2024-01-01", "status": "finished"})  # fmt: skip
    assert added.status_code == 200
    count = requests.get(control + "/post-count/tiktok_keywords", timeout=10).json()
    assert count == {"source": "tiktok_keywords", "count": 600}
    api.get(f"{PROVIDER}/tiktok_keywords?page=2")
    assert emu.requests[-1].query == {"page": "2"}


# ---------------------------------------------------------------------------- command line


def _start_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tap_data365.emulator", "--port", "0", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_cli_serves_until_sigterm():
    process = _start_cli("--scale", "0.01", "--api-key", "cli-key", "--finish-status", "finished")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("emulator listening on http://127.0.0.1:")
        url = line.split(" on ", 1)[1].strip()
        client = Client(url, key="cli-key")
        assert client.search("*").json()["results"]
        config = requests.get(url + "/_emulator/config", timeout=10).json()
        assert config["finish_status"] == "finished"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert process.stdout.read() == ""  # exactly one line on stdout
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_refuses_non_loopback_host():
    process = _start_cli("--host", "0.0.0.0")  # the point of the test
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "loopback" in err


def test_cli_control_config_json_round_trips():
    config = EmulatorConfig().as_json()
    assert json.loads(json.dumps(config)) == config


def test_generator_words_match_lazily_computed_words(emu):
    emu.add_task("tiktok_music", "Slowly-Song/6669854674113317638", "2024-01-01", "2024-01-01",
                 status="complete")  # fmt: skip
    for source in ("twitter_keywords", "tiktok_music"):
        for post in list(emu.indexes.get(source))[:2000]:
            assert Post(post.doc, post.instant).default_words == post.default_words
