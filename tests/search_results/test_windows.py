"""Search windows and per-source checkpoints, on their own."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from data365_emulator import Emulator
from tap_data365.search_results.boundary import zone_size
from tap_data365.search_results.checkpoints import SourceCheckpoint
from tap_data365.search_results.hits import search_post
from tap_data365.search_results.plan import SyncPlan, plan_sync
from tap_data365.search_results.ranges import Post, Window, combine_query, merge_ranges
from tap_data365.search_results.sizing import WindowSizer
from tap_data365.search_results.windows import AHEAD_ROUNDS, CompletedWindow, WindowReader
from tap_data365.settings import Settings
from tests.helpers.emulator import start_emulator
from tests.helpers.tap import API_KEY

#: The declared defaults, as a sync without settings reads them.
DEFAULT_SETTINGS = Settings.from_config({})

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


def checkpoint(state: dict[str, Any], lookback: dt.timedelta = dt.timedelta(hours=1)) -> Any:
    zone_limit = DEFAULT_SETTINGS.boundary_zone_max_posts
    return SourceCheckpoint(state, lookback=lookback, now=NOW, zone_limit=zone_limit)


def planned(check: SourceCheckpoint, tasks: list[dict[str, Any]], **options: Any) -> SyncPlan:
    """The plan, checked to change nothing, then adopted as a sync adopts it."""
    before = copy.deepcopy(dict(check.state.raw))
    plan = plan_sync(check.state, tasks, check.lookbacks, **options)
    assert dict(check.state.raw) == before  # planning has no side effect
    check.adopt(plan)
    return plan


def test_first_sync_reads_from_start_and_remembers_finished_tasks() -> None:
    state: dict[str, Any] = {}
    plan = planned(
        checkpoint(state),
        [done_task("t1", "2024-01-01", "2024-01-02")],
        start=at("2024-01-01"),
        floor=at("2024-01-01"),
    )
    assert plan == SyncPlan(None, None, [], Window(at("2024-01-01"), None))
    assert state["tasks_seen"] == {"t1": "u1"}


def test_discovery_sweep_covers_older_doc_dates_and_reads_no_task_range() -> None:
    state: dict[str, Any] = {
        "replication_key_value": "2024-12-31T00:00:00.000000Z",
        "found_mark": "2025-06-01T00:00:00.000000Z",
        "tasks_seen": {"t1": "u1"},
    }
    plan = planned(
        checkpoint(state),
        [done_task("t1", "2024-05-01", "2024-05-01", updated="u2")],
        start=at("2024-12-31"),
        floor=at("2024-01-01"),
    )
    # With a discovery sweep, the doc_date sweep starts at the bookmark: posts indexed out of
    # order carry a recent content.found, and come through the discovery sweep.
    split = at("2024-12-31")
    assert plan.discovery == Window(at("2025-05-31T23:00:00"), None, "content.found")
    assert plan.discovery_doc_range == Window(at("2024-01-01"), split)
    assert plan.task_ranges == []  # the re-run task's posts come through the discovery sweep
    assert plan.doc_date == Window(split, None)
    assert state["tasks_seen"] == {"t1": "u2"}


def test_an_interrupted_task_range_sweep_is_taken_over_by_the_discovery_sweep() -> None:
    state: dict[str, Any] = {
        "replication_key_value": "2024-12-31T00:00:00.000000Z",
        "found_mark": "2025-06-01T00:00:00.000000Z",
        "catchup": [["2024-04-30T00:00:00.000000Z", "2024-05-03T00:00:00.000000Z"]],
        "catchup_found_from": "2025-05-01T00:00:00.000000Z",
    }
    plan = planned(checkpoint(state), [], start=at("2024-12-31"), floor=at("2024-01-01"))
    # The sweep starts where the task ranges' filter did: nothing they would emit is missed.
    assert plan.discovery == Window(at("2025-05-01"), None, "content.found")
    assert plan.task_ranges == []
    assert "catchup" not in state
    assert "catchup_found_from" not in state


def test_end_date_bounds_both_sweeps() -> None:
    state: dict[str, Any] = {
        "replication_key_value": "2024-06-01T00:00:00.000000Z",
        "found_mark": "2025-06-01T00:00:00.000000Z",
    }
    plan = planned(
        checkpoint(state, dt.timedelta(0)),
        [],
        start=at("2024-06-01"),
        floor=at("2024-01-01"),
        end=at("2024-03-01"),
    )
    assert plan.discovery_doc_range == Window(at("2024-01-01"), at("2024-03-01"))
    assert plan.doc_date is None  # the bookmark is past end_date: nothing to sweep by doc_date


def test_task_finished_since_last_sync_is_read_again_then_forgotten() -> None:
    """Without a found mark (state of an older version, or found_filter off): task ranges."""
    state: dict[str, Any] = {
        "replication_key": "doc_date",
        "replication_key_value": "2024-12-31T00:00:00.000000Z",
        "tasks_seen": {"t1": "u1", "gone": "u0"},
    }
    check = checkpoint(state)
    plan = planned(
        check,
        [done_task("t1", "2024-01-01", "2024-01-02"), done_task("t2", "2024-03-01", "2024-03-02")],
        start=at("2024-12-31"),
        floor=at("2024-01-01"),
    )
    task_range = Window(at("2024-02-29"), at("2024-03-04"))
    assert plan == SyncPlan(None, None, [task_range], Window(at("2024-12-30T23:00:00"), None))
    assert state["tasks_seen"] == {"t1": "u1", "t2": "u1"}  # pruned the task that is gone
    assert state["catchup"] == [["2024-02-29T00:00:00.000000Z", "2024-03-04T00:00:00.000000Z"]]
    # A killed sync resumes the task range from the state alone.
    again = checkpoint(dict(state), dt.timedelta(0))
    resumed = plan_sync(
        again.state, [], again.lookbacks, start=at("2024-12-31"), floor=at("2024-01-01")
    )
    assert resumed.task_ranges == [task_range]
    # Reading it moves no bookmark and clears it.
    check.window_done(task_range, task_range=True)
    assert "catchup" not in state
    assert state["replication_key_value"] == "2024-12-31T00:00:00.000000Z"
    assert check.accept(
        search_post({"id": "p", "doc_date": "2025-01-01T00:00:00.000000Z"}, "index"),
        task_range=False,
    )
    check.window_done(Window(at("2024-12-30T23:00:00"), None), task_range=False)
    assert state["replication_key_value"] == "2025-01-01T00:00:00.000000Z"


def test_task_range_sweep_rereads_a_rerun_task_but_emits_only_posts_found_since() -> None:
    state: dict[str, Any] = {
        "replication_key_value": "2024-12-31T00:00:00.000000Z",
        "found_mark": "2025-06-01T00:00:00.000000Z",
        "tasks_seen": {"t1": "u1"},
    }
    check = checkpoint(state)
    plan = planned(
        check,
        [done_task("t1", "2024-05-01", "2024-05-01", updated="u2")],
        start=at("2024-12-31"),
        floor=at("2024-01-01"),
        found_filter=False,
    )
    assert plan.discovery is None
    assert plan.task_ranges == [Window(at("2024-04-30"), at("2024-05-03"))]
    old = {"id": "old", "doc_date": "2024-05-01T10:00:00.000000Z",
           "content": {"found": "2024-05-02T00:00:00Z"}}  # fmt: skip
    new = {"id": "new", "doc_date": "2024-05-01T11:00:00.000000Z",
           "content": {"found": "2025-07-01T00:00:00Z"}}  # fmt: skip
    assert not check.accept(search_post(old, "index"), task_range=True)
    assert check.accept(search_post(new, "index"), task_range=True)
    # Read twice in one sync: emitted once.
    assert not check.accept(search_post(new, "index"), task_range=True)
    check.window_done(plan.task_ranges[0], task_range=True)
    assert state["found_mark"] == "2025-07-01T00:00:00.000000Z"
    assert "catchup_found_from" not in state
    assert (check.counts.emitted, check.counts.skipped_old, check.counts.skipped_seen) == (1, 1, 1)


def test_found_mark_waits_for_the_whole_task_range_sweep() -> None:
    state: dict[str, Any] = {
        "replication_key_value": "2024-12-31T00:00:00.000000Z",
        "found_mark": "2025-06-01T00:00:00.000000Z",
        "catchup": [["2024-04-01T00:00:00.000000Z", "2024-06-01T00:00:00.000000Z"]],
        "catchup_found_from": "2025-05-31T23:00:00.000000Z",
    }
    check = checkpoint(state)
    plan = planned(check, [], start=at("2024-12-31"), floor=at("2024-01-01"), found_filter=False)
    new = {"id": "n", "doc_date": "2024-04-02T00:00:00.000000Z",
           "content": {"found": "2025-07-01T00:00:00Z"}}  # fmt: skip
    assert check.accept(search_post(new, "index"), task_range=True)
    check.window_done(Window(at("2024-04-01"), at("2024-05-01")), task_range=True)
    # Half the range is read: a resumed sync filters and skips exactly as this one did.
    assert state["found_mark"] == "2025-06-01T00:00:00.000000Z"
    assert state["catchup_found_from"] == "2025-05-31T23:00:00.000000Z"
    assert zone_size(state["zone"]) == 1
    check.window_done(Window(at("2024-05-01"), plan.task_ranges[0].end), task_range=True)
    assert state["found_mark"] == "2025-07-01T00:00:00.000000Z"
    assert "catchup" not in state


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator(seed_posts={"twitter_keywords": 25_000}) as emu:
        yield emu


def http_fetcher(emulator: Emulator, calls: list[tuple[str, int]]) -> Any:
    session = requests.Session()

    def fetch(query: str, offset: int, size: int) -> list[Post]:
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
        return [search_post(raw, "data365_twitter_keywords") for raw in results]

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
    ids = [p.id for c in completed for p in c.posts]
    assert len(ids) == len(set(ids)) == 25_000
    starts = [c.window.start for c in completed]
    assert starts == sorted(starts)
    assert all(a.window.end == b.window.start for a, b in itertools.pairwise(completed))
    assert max(offset for _, offset in calls) <= 9_900
    # Splitting costs a few requests over the minimum of one per 100 posts.
    assert len(calls) < 25_000 / 100 * 1.2


def test_counted_windows_are_read_one_at_a_time_without_probes(emulator: Emulator) -> None:
    calls: list[tuple[str, int]] = []
    counted: list[str] = []
    warnings: list[str] = []
    session = requests.Session()

    def count(query: str) -> int | None:
        counted.append(query)
        body = {"query": {"query": query, "data_sources": ["data365_twitter_keywords"]}}
        response = session.post(
            f"{emulator.url}/api/count", json=body, headers={"apikey": API_KEY}, timeout=30
        )
        response.raise_for_status()
        value: int = response.json()["total"]["value"]
        return value

    reader = WindowReader(
        http_fetcher(emulator, calls),
        base_query="*",
        page_size=100,
        concurrency=4,
        now=NOW,
        describe="test index",
        sizer=WindowSizer(count, warnings.append),
    )
    completed: list[CompletedWindow] = []
    handed_out_after: list[int] = []  # requests started when each window was handed out
    for window in reader.read([Window(at("2024-01-01"), None)]):
        handed_out_after.append(len(calls))
        completed.append(window)
    assert len({p.id for c in completed for p in c.posts}) == 25_000
    assert warnings == []
    assert all(offset < 9_900 for _, offset in calls)  # no window was probed
    # After the first page of the whole range (the sample), every window read is handed out
    # whole, and when one is, at most AHEAD_ROUNDS rounds of the next ones' pages have been
    # asked for (inflight.py): memory holds the window and at most that many pages more.
    queries = [combine_query("*", c.window) for c in completed]
    assert {query for query, _ in calls[1:]} == set(queries)
    for k, started in enumerate(handed_out_after):
        later = set(queries[k + 1 :])
        assert sum(1 for query, _ in calls[:started] if query in later) <= AHEAD_ROUNDS * 4
    assert len(calls) <= 25_000 // 100 + 1 + len(completed)
    assert len(counted) <= len(completed)
