"""Every post the API holds is delivered: past the 10,000-result window, in any order,
incrementally, after late collection, after a SIGKILL, and through injected faults."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from data365_emulator import Emulator
from tap_data365.search_results.boundary import zone_size
from tests.helpers.emulator import start_emulator
from tests.helpers.tap import (
    API_KEY,
    TAP,
    SyncResult,
    clean_env,
    parse_messages,
    run_tap,
    write_json,
)

BIG = "twitter_keywords"
BIG_INDEX = "data365_twitter_keywords"
BIG_COUNT = 25_000


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator() as emu:
        yield emu


@pytest.fixture
def fresh_emulator() -> Iterator[Emulator]:
    """An emulator this test may change (tasks finishing, faults)."""
    with start_emulator() as emu:
        yield emu


def config_for(emu: Emulator, **overrides: Any) -> dict[str, Any]:
    return {"api_key": API_KEY, "api_url": emu.url, "sources": [BIG], **overrides}


def search_ids(result: SyncResult) -> set[str]:
    return set(result.ids())


def test_every_post_of_a_25k_source_is_delivered_in_relevance_order(
    emulator: Emulator, tmp_path: Path
) -> None:
    assert emulator.post_count(BIG) == BIG_COUNT
    result = run_tap(tmp_path, config_for(emulator))
    assert result.returncode == 0, result.stderr
    assert len(search_ids(result)) == BIG_COUNT
    assert result.duplicates() == 0
    # The search requests never went past the API's window.
    searches = [r for r in emulator.requests if r.path.startswith("/api/search")]
    assert searches
    assert all(r.status == 200 for r in searches)
    assert max(r.body["query"]["from"] for r in searches if r.body) <= 9_900


@pytest.mark.parametrize("order", ["doc_date_asc", "doc_date_desc"])
def test_result_order_does_not_matter(fresh_emulator: Emulator, tmp_path: Path, order: str) -> None:
    fresh_emulator.configure(search_order=order, honour_sort=False)
    result = run_tap(tmp_path, config_for(fresh_emulator))
    assert result.returncode == 0, result.stderr
    assert len(search_ids(result)) == BIG_COUNT


def test_doc_date_is_normalised_and_bookmark_is_the_newest_delivered(
    emulator: Emulator, tmp_path: Path
) -> None:
    result = run_tap(tmp_path, config_for(emulator, sources=["tiktok_hashtag"]))
    assert result.returncode == 0, result.stderr
    dates = [r["doc_date"] for r in result.records["search_results"]]
    assert all(len(d) == 27 and d.endswith("Z") and d[10] == "T" for d in dates)
    partition = _partition(result.final_state, "data365_tiktok_hashtag")
    assert partition["replication_key"] == "doc_date"
    assert partition["replication_key_value"] == max(dates)


def test_unknown_fields_and_nested_blocks_survive(emulator: Emulator, tmp_path: Path) -> None:
    result = run_tap(tmp_path, config_for(emulator, sources=["tiktok_hashtag"]))
    assert result.returncode == 0, result.stderr
    records = result.records["search_results"]
    assert all(isinstance(r["content"], dict) and "body" in r["content"] for r in records)
    known = set(json.loads(Path("schemas/search_results.json").read_text())["properties"])
    assert all(set(r) <= known for r in records)
    # The emulator sends a field no schema lists: it survives, under extra_fields.
    extras = [r["extra_fields"] for r in records if r.get("extra_fields")]
    assert extras
    assert all("extra_field_v2" in e for e in extras)


def test_second_sync_emits_only_new_posts(fresh_emulator: Emulator, tmp_path: Path) -> None:
    first = run_tap(tmp_path, config_for(fresh_emulator), name="first")
    assert first.returncode == 0, first.stderr
    assert len(search_ids(first)) == BIG_COUNT

    unchanged = run_tap(tmp_path, config_for(fresh_emulator), state=first.final_state, name="same")
    assert unchanged.returncode == 0, unchanged.stderr
    assert len(unchanged.ids()) < BIG_COUNT * 0.01  # boundary duplicates only

    task_id = fresh_emulator.add_task(BIG, "worldcup", "2025-01-02", "2025-01-03", status="running")
    fresh_emulator.finish_running_tasks()
    new_count = fresh_emulator.post_count(BIG) - BIG_COUNT
    assert new_count > 0
    second = run_tap(tmp_path, config_for(fresh_emulator), state=unchanged.final_state, name="new")
    assert second.returncode == 0, second.stderr
    new_ids = search_ids(second) - search_ids(first)
    assert len(new_ids) == new_count
    assert len(second.ids()) - new_count < BIG_COUNT * 0.01
    assert task_id in _partition(second.final_state, BIG_INDEX)["tasks_seen"]


def test_posts_of_a_past_range_collected_after_the_sync_are_delivered(
    fresh_emulator: Emulator, tmp_path: Path
) -> None:
    first = run_tap(tmp_path, config_for(fresh_emulator), name="first")
    assert first.returncode == 0, first.stderr
    bookmark = _partition(first.final_state, BIG_INDEX)["replication_key_value"]
    assert bookmark >= "2024-12"

    # A task for March 2024 — long before the bookmark — completes between the syncs.
    fresh_emulator.add_task(BIG, "late-march", "2024-03-01", "2024-03-03", status="running")
    fresh_emulator.finish_running_tasks()
    late_count = fresh_emulator.post_count(BIG) - BIG_COUNT
    assert late_count > 0

    second = run_tap(tmp_path, config_for(fresh_emulator), state=first.final_state, name="second")
    assert second.returncode == 0, second.stderr
    late = search_ids(second) - search_ids(first)
    assert len(late) == late_count
    assert all(
        r["doc_date"] < bookmark for r in second.records["search_results"] if r["id"] in late
    )
    partition = _partition(second.final_state, BIG_INDEX)
    assert "catchup" not in partition
    assert partition["replication_key_value"] >= bookmark

    third = run_tap(tmp_path, config_for(fresh_emulator), state=second.final_state, name="third")
    assert third.returncode == 0, third.stderr
    assert len(third.ids()) < BIG_COUNT * 0.01  # the task range is not read again


def test_sigkill_mid_sync_then_resume_loses_nothing(
    fresh_emulator: Emulator, tmp_path: Path
) -> None:
    fresh_emulator.configure(latency_ms=5)
    config = write_json(tmp_path / "config.json", config_for(fresh_emulator, max_concurrency=2))
    process = subprocess.Popen(
        [*TAP, "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    assert process.stdout is not None
    delivered_before_state: set[str] = set()
    seen: list[str] = []
    last_state: dict[str, Any] | None = None
    for raw in process.stdout:
        message = json.loads(raw)
        if message["type"] == "RECORD" and message["stream"] == "search_results":
            seen.append(message["record"]["id"])
        elif message["type"] == "STATE" and len(seen) >= 8_000:
            last_state = message["value"]
            delivered_before_state = set(seen)
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert last_state is not None, "the sync ended before a mid-sync STATE was written"
    assert len(delivered_before_state) < BIG_COUNT

    fresh_emulator.configure(latency_ms=0)
    resumed = run_tap(tmp_path, config_for(fresh_emulator), state=last_state, name="resume")
    assert resumed.returncode == 0, resumed.stderr
    assert delivered_before_state | search_ids(resumed) >= _all_ids(fresh_emulator, tmp_path)
    # Re-read at most the window in flight: what came after the STATE, plus boundary posts.
    reread = len(search_ids(resumed) & delivered_before_state)
    assert reread < BIG_COUNT * 0.01


def test_ten_percent_injected_faults_lose_nothing(fresh_emulator: Emulator, tmp_path: Path) -> None:
    fresh_emulator.configure(fault_rate=0.1, fault_kinds=["429", "503", "drop"], retry_after=0)
    result = run_tap(tmp_path, config_for(fresh_emulator, max_retries=10))
    assert result.returncode == 0, result.stderr
    assert len(search_ids(result)) == BIG_COUNT
    assert result.duplicates() == 0
    statuses = {r.status for r in fresh_emulator.requests}
    assert {429, 503} <= statuses


def test_state_stays_small(emulator: Emulator, tmp_path: Path) -> None:
    result = run_tap(tmp_path, config_for(emulator, sources=[BIG, "tiktok_hashtag"]))
    assert result.returncode == 0, result.stderr
    assert len(json.dumps(result.final_state)) < 2_000
    for partition in result.final_state["bookmarks"]["search_results"]["partitions"]:
        assert set(partition) <= {
            "context",
            "replication_key",
            "replication_key_value",
            "tasks_seen",
            "found_mark",
            "zone",
            "index_delay",  # after a full read: only its reference (a found mark)
        }
        assert zone_size(partition.get("zone")) < 100  # the boundary zone: the last hour


def _partition(state: dict[str, Any], index: str) -> dict[str, Any]:
    partitions = state["bookmarks"]["search_results"]["partitions"]
    return next(p for p in partitions if p["context"] == {"data_source": index})


def _all_ids(emu: Emulator, tmp_path: Path) -> set[str]:
    complete = run_tap(tmp_path, config_for(emu), name="truth")
    assert complete.returncode == 0, complete.stderr
    assert len(complete.ids()) == emu.post_count(BIG)
    return search_ids(complete)


def test_parse_messages_reads_records_and_states() -> None:
    lines = [
        {"type": "RECORD", "stream": "s", "record": {"id": "1"}},
        {"type": "STATE", "value": {"bookmarks": {}}},
    ]
    result = parse_messages("\n".join(json.dumps(m) for m in lines), SyncResult(returncode=0))
    assert result.ids("s") == ["1"]
    assert result.final_state == {"bookmarks": {}}


@pytest.mark.parametrize("found_ranges", ["honour", "ignore"])
def test_sigkill_while_reading_a_late_task_range_then_resume(
    fresh_emulator: Emulator, tmp_path: Path, found_ranges: str
) -> None:
    """Killed right after the plan is in the state: by the discovery sweep, or (on a server
    that cannot filter on content.found) by the task range recorded as ``catchup``."""
    first = run_tap(tmp_path, config_for(fresh_emulator), name="first")
    fresh_emulator.configure(found_ranges=found_ranges)
    assert first.returncode == 0, first.stderr
    fresh_emulator.add_task(BIG, "late-june", "2024-06-10", "2024-06-12", status="running")
    fresh_emulator.finish_running_tasks()
    late_count = fresh_emulator.post_count(BIG) - BIG_COUNT

    state_path = write_json(tmp_path / "state.json", first.final_state)
    config = write_json(tmp_path / "config.json", config_for(fresh_emulator))
    process = subprocess.Popen(
        [*TAP, "--config", str(config), "--state", str(state_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    assert process.stdout is not None
    planned: dict[str, Any] | None = None
    for raw in process.stdout:
        message = json.loads(raw)
        if message["type"] == "STATE" and (
            found_ranges == "honour" or "catchup" in _partition(message["value"], BIG_INDEX)
        ):
            planned = message["value"]
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert planned is not None, "no STATE recorded the task range before reading it"

    resumed = run_tap(tmp_path, config_for(fresh_emulator), state=planned, name="resume")
    assert resumed.returncode == 0, resumed.stderr
    late = search_ids(resumed) - search_ids(first)
    assert len(late) == late_count
    assert "catchup" not in _partition(resumed.final_state, BIG_INDEX)
