"""Each undocumented response shape the API may use is read correctly, end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from data365_emulator import Emulator
from tests.helpers.emulator import start_emulator
from tests.helpers.tap import API_KEY, sync

CONNECTED = ["tiktok_hashtag", "twitter_profile", "linkedin_company"]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator(
        seed_posts={"tiktok_hashtag": 120, "linkedin_company": 30},
        connected_sources=tuple(CONNECTED),
    ) as emu:
        emu.add_task("tiktok_hashtag", "hellokitty", "2024-02-01", "2024-02-03", status="complete")
        emu.add_task("tiktok_hashtag", "cats", "2024-02-04", "2024-02-05", status="created")
        emu.add_task("twitter_profile", "cp24", "2024-03-01", "2024-03-02", status="finished")
        yield emu


@pytest.fixture(autouse=True)
def _default_shapes(emulator: Emulator) -> Iterator[None]:
    yield
    emulator.configure(
        sources_item="string",
        sources_wrapper=None,
        tasks_wrapper=None,
        task_id_key="id",
        status_case="lower",
        task_wrapper=None,
    )


@pytest.mark.parametrize("item", ["string", "object"])
@pytest.mark.parametrize("wrapper", [None, "data_sources", "sources", "data", "items", "results"])
def test_source_list_shapes(
    emulator: Emulator, tmp_path: Path, item: str, wrapper: str | None
) -> None:
    emulator.configure(sources_item=item, sources_wrapper=wrapper)
    records = sync(emulator, tmp_path).records
    assert sorted(r["name"] for r in records["sources"]) == sorted(CONNECTED)
    # Every connected source was extracted (tasks listed and searched).
    assert {r["source"] for r in records["tasks"]} == {"tiktok_hashtag", "twitter_profile"}
    indexes = {r["data_source"] for r in records["search_results"]}
    # twitter_profile holds the posts of its finished task.
    assert indexes == {f"data365_{name}" for name in CONNECTED}


@pytest.mark.parametrize("wrapper", [None, "tasks", "data", "items"])
@pytest.mark.parametrize("id_key", ["id", "task_id", "taskId", "TaskId"])
def test_task_list_shapes(
    emulator: Emulator, tmp_path: Path, wrapper: str | None, id_key: str
) -> None:
    emulator.configure(tasks_wrapper=wrapper, task_id_key=id_key)
    records = sync(emulator, tmp_path, sources=["tiktok_hashtag", "twitter_profile"]).records
    tasks = records["tasks"]
    assert len(tasks) == 3
    assert all(isinstance(t["id"], str) and t["id"] for t in tasks)
    assert id_key == "id" or all(id_key not in t for t in tasks)
    by_value = {t["value"]: t for t in tasks}
    assert by_value["hellokitty"]["from_date"] == "2024-02-01"
    assert by_value["hellokitty"]["to_date"] == "2024-02-03"


@pytest.mark.parametrize("case", ["lower", "upper", "title"])
def test_statuses_in_any_case_are_normalised(emulator: Emulator, tmp_path: Path, case: str) -> None:
    emulator.configure(status_case=case)
    tasks = sync(emulator, tmp_path, sources=["tiktok_hashtag", "twitter_profile"]).records["tasks"]
    statuses = {t["value"]: t["status"] for t in tasks}
    assert statuses == {"hellokitty": "complete", "cats": "created", "cp24": "finished"}


@pytest.mark.parametrize("wrapper", [None, "task", "data"])
def test_lagging_list_status_is_replaced_by_single_task_status(
    emulator: Emulator, tmp_path: Path, wrapper: str | None
) -> None:
    emulator.configure(task_wrapper=wrapper, list_status_lag=True, polls_to_finish=1)
    task_id = emulator.add_task("linkedin_company", "microsoft", "2024-05-01", "2024-05-02")
    emulator.clear_requests()
    # Start it, then let one single-task poll finish it: the list still says running.
    started = requests.put(
        f"{emulator.url}/api/data-providers/data365/linkedin_company/{task_id}/start",
        headers={"apikey": API_KEY},
        timeout=10,
    )
    assert started.status_code == 200
    emulator.clear_requests()
    tasks = sync(emulator, tmp_path, sources=["linkedin_company"]).records["tasks"]
    task = next(t for t in tasks if t["id"] == task_id)
    assert task["list_status"] in {"created", "running"}  # the list lags behind
    assert task["status"] == "complete"
    single_reads = [
        r for r in emulator.requests if r.path.endswith(f"/{task_id}") and r.method == "GET"
    ]
    assert len(single_reads) == 1
