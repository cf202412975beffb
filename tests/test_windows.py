"""Search windows and per-source checkpoints, on their own."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from support import API_KEY

from tap_data365.checkpoints import SourceCheckpoint
from tap_data365.emulator import Emulator, EmulatorConfig
from tap_data365.windows import Window, WindowReader, combine_query, merge_ranges

UTC = dt.UTC
NOW = dt.datetime(2026, 1, 1, tzinfo=UTC)


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=UTC)


def test_window_clause_is_inclusive_start_exclusive_end() -> None:
    window = Window(at("2024-01-01"), at("2024-02-01"))
    assert window.clause() == (
        'doc_date:["2024-01-01T00:00:00.000000Z" TO "2024-02-01T00:00:00.000000Z"}'
    )
    assert Window(at("2024-01-01")).clause().endswith("TO *}")


def test_query_combination() -> None:
    window = Window(at("2024-01-01"))
    assert combine_query("*", window) == window.clause()
    assert combine_query("covid OR flu", window) == f"(covid OR flu) AND {window.clause()}"


def test_split_halves_and_open_windows_cut_at_now() -> None:
    lower, upper = Window(at("2024-01-01"), at("2024-01-03")).split(NOW)
    assert (lower.end, upper.start) == (at("2024-01-02"), at("2024-01-02"))
    lower, upper = Window(at("2024-01-01")).split(NOW)
    assert lower.end == NOW
    assert upper.end is None
    tiny = Window(at("2024-01-01"), at("2024-01-01") + dt.timedelta(milliseconds=1))
    assert not tiny.splittable


def test_merge_ranges() -> None:
    merged = merge_ranges(
        [
            (at("2024-03-01"), at("2024-03-05")),
            (at("2024-01-01"), at("2024-01-03")),
            (at("2024-03-04"), at("2024-03-09")),
            (at("2024-06-01"), None),
            (at("2024-07-01"), at("2024-07-02")),
        ]
    )
    assert merged == [
        Window(at("2024-01-01"), at("2024-01-03")),
        Window(at("2024-03-01"), at("2024-03-09")),
        Window(at("2024-06-01"), None),
    ]


def done_task(task_id: str, first: str, last: str, updated: str = "u1") -> dict[str, Any]:
    return {
        "id": task_id,
        "status": "complete",
        "from_date": first,
        "to_date": last,
        "updated_at": updated,
    }


def test_first_sync_reads_from_start_and_remembers_finished_tasks() -> None:
    state: dict[str, Any] = {}
    plan = SourceCheckpoint(state).plan(
        [done_task("t1", "2024-01-01", "2024-01-02")],
        start=at("2024-01-01"),
        lookback=dt.timedelta(hours=1),
        floor=at("2024-01-01"),
    )
    assert plan == [Window(at("2024-01-01"), None)]
    assert state["tasks_seen"] == {"t1": "u1"}


def test_task_finished_since_last_sync_is_read_again_then_forgotten() -> None:
    state: dict[str, Any] = {
        "replication_key": "doc_date",
        "replication_key_value": "2024-12-31T00:00:00.000000Z",
        "tasks_seen": {"t1": "u1", "gone": "u0"},
    }
    checkpoint = SourceCheckpoint(state)
    plan = checkpoint.plan(
        [done_task("t1", "2024-01-01", "2024-01-02"), done_task("t2", "2024-03-01", "2024-03-02")],
        start=at("2024-12-31"),
        lookback=dt.timedelta(hours=1),
        floor=at("2024-01-01"),
    )
    catchup = Window(at("2024-02-29"), at("2024-03-04"))
    assert plan == [catchup, Window(at("2024-12-30T23:00:00"), None)]
    assert state["tasks_seen"] == {"t1": "u1", "t2": "u1"}  # pruned the task that is gone
    assert state["catchup"] == [["2024-02-29T00:00:00.000000Z", "2024-03-04T00:00:00.000000Z"]]
    # A killed sync resumes the catch-up range from the state alone.
    resumed = SourceCheckpoint(dict(state)).plan(
        [], start=at("2024-12-31"), lookback=dt.timedelta(0), floor=at("2024-01-01")
    )
    assert resumed[0] == catchup
    # Reading it moves no bookmark and clears it.
    checkpoint.window_done(catchup, "2024-03-02T10:00:00.000000Z")
    assert "catchup" not in state
    assert state["replication_key_value"] == "2024-12-31T00:00:00.000000Z"
    checkpoint.window_done(plan[1], "2025-01-01T00:00:00.000000Z")
    assert state["replication_key_value"] == "2025-01-01T00:00:00.000000Z"


def test_a_task_that_finishes_again_is_read_again() -> None:
    state: dict[str, Any] = {
        "replication_key_value": "2024-12-31T00:00:00.000000Z",
        "tasks_seen": {"t1": "u1"},
    }
    plan = SourceCheckpoint(state).plan(
        [done_task("t1", "2024-05-01", "2024-05-01", updated="u2")],
        start=at("2024-12-31"),
        lookback=dt.timedelta(0),
        floor=at("2024-01-01"),
    )
    assert plan[0] == Window(at("2024-04-30"), at("2024-05-03"))


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(api_key=API_KEY, seed_posts={"twitter_keywords": 25_000})) as emu:
        yield emu


def http_fetcher(emulator: Emulator, calls: list[tuple[str, int]]) -> Any:
    session = requests.Session()

    def fetch(query: str, offset: int, size: int) -> list[dict[str, Any]]:
        calls.append((query, offset))
        body = {
            "query": {
                "from": offset,
                "size": size,
                "query": query,
                "data_sources": ["data365_twitter_keywords"],
            }
        }
        response = session.post(
            f"{emulator.url}/api/search", json=body, headers={"apikey": API_KEY}, timeout=30
        )
        response.raise_for_status()
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    return fetch


@pytest.mark.parametrize("concurrency", [1, 4])
def test_reader_splits_full_windows_and_reads_everything_in_order(
    emulator: Emulator, concurrency: int
) -> None:
    calls: list[tuple[str, int]] = []
    reader = WindowReader(
        http_fetcher(emulator, calls),
        base_query="*",
        page_size=100,
        concurrency=concurrency,
        now=NOW,
        describe="test index",
    )
    completed = list(reader.read([Window(at("2024-01-01"), None)]))
    ids = [r["id"] for c in completed for r in c.records]
    assert len(ids) == len(set(ids)) == 25_000
    starts = [c.window.start for c in completed]
    assert starts == sorted(starts)
    assert all(
        a.window.end == b.window.start for a, b in itertools.pairwise(completed)
    )
    assert max(offset for _, offset in calls) <= 9_900
    # Splitting costs a few requests over the minimum of one per 100 posts.
    assert len(calls) < 25_000 / 100 * 1.2
