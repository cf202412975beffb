"""Incremental syncs cost what is new: the discovery sweep, its verification, the task-range
sweep when it fails, lookback without re-emission, fine checkpoints, bounded state, and
``end_date``.

Every test runs the real tap against the emulator over HTTP.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from data365_emulator import Emulator
from tap_data365.search_results.boundary import zone_size
from tests.helpers import tap
from tests.helpers.emulator import start_emulator
from tests.helpers.tap import API_KEY, TAP, clean_env, run_tap, write_json

BIG = "twitter_keywords"
BIG_INDEX = "data365_twitter_keywords"
HISTORY = 25_000


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with start_emulator() as emulator:
        yield emulator


def config_for(emu: Emulator, **overrides: Any) -> dict[str, Any]:
    return {"api_key": API_KEY, "api_url": emu.url, "sources": [BIG], **overrides}


def partition(state: dict[str, Any], index: str = BIG_INDEX) -> dict[str, Any]:
    partitions = state["bookmarks"]["search_results"]["partitions"]
    return next(p for p in partitions if p["context"] == {"data_source": index})


#: The one sync helper, with this module's default: the big sub-source alone.
sync = partial(tap.sync, sources=[BIG])


def all_ids(emu: Emulator, tmp_path: Path, source: str = BIG) -> dict[str, str]:
    """Every post of the source (id → doc_date), read by a sync from scratch."""
    result = sync(emu, tmp_path, None, f"truth-{source}", sources=[source])
    records = result.records["search_results"]
    assert len(records) == emu.post_count(source)
    return {r["id"]: r["doc_date"] for r in records}


def repeating_task(emu: Emulator) -> str:
    """A repeating task over all of 2024 whose first run collected the seeded history."""
    emu.configure(posts_per_task=0)
    return emu.add_task(BIG, "covid", "2024-01-01", "2024-12-31", status="complete",
                        update_interval=3600)  # fmt: skip


def rerun(emu: Emulator, task_id: str) -> int:
    """Run the task again (a repeating task's next run); returns the posts it found."""
    before = emu.post_count(BIG)
    emu.tasks.start(emu.tasks.find(BIG, task_id), emu.config)
    emu.finish_running_tasks()
    return emu.post_count(BIG) - before


def test_repeating_task_reruns_cost_only_the_new_posts(emu: Emulator, tmp_path: Path) -> None:
    task_id = repeating_task(emu)
    first = sync(emu, tmp_path, None, "first")
    assert len(set(first.ids())) == HISTORY
    known = set(first.ids())
    state = first.final_state
    for round_ in range(3):
        added = rerun(emu, task_id)
        assert added == emu.config.rerun_posts
        result = sync(emu, tmp_path, state, f"rerun{round_}")
        searches = len(result.sent("/api/search"))
        emitted = result.ids()
        new = set(emitted) - known
        assert len(new) == added  # every new post arrives in this sync
        assert len(emitted) == added  # and nothing of the history comes again
        assert searches <= 10  # 3 verification probes, the discovery sweep, the doc_date sweep
        assert "does not filter" not in result.stderr
        known |= new
        state = result.final_state
    # State: the task list, the marks and the boundary zone (the 90 posts found this hour).
    assert zone_size(partition(state)["zone"]) <= 3 * emu.config.rerun_posts + 20
    assert len(json.dumps(partition(state))) < 6_000


def test_a_sync_with_nothing_new_emits_nothing(emu: Emulator, tmp_path: Path) -> None:
    first = sync(emu, tmp_path, None, "first")
    again = sync(emu, tmp_path, first.final_state, "again")
    searches = len(again.sent("/api/search"))
    assert again.ids() == []  # the lookback re-reads the last hour but re-emits nothing
    assert searches <= 6
    assert "read again and skipped" in again.stderr


def test_posts_without_a_task_dated_months_back_arrive(emu: Emulator, tmp_path: Path) -> None:
    first = sync(emu, tmp_path, None, "first")
    emu.add_posts(BIG, 40, "2024-03-01", "2024-03-31")
    emu.add_posts(BIG, 5, "2024-12-30T20:00:00", "2024-12-31T00:00:00")  # near the bookmark
    result = sync(emu, tmp_path, first.final_state, "late")
    searches = len(result.sent("/api/search"))
    new = set(result.ids()) - set(first.ids())
    assert len(new) == len(result.ids()) == 45
    assert searches <= 8


def test_posts_arriving_every_few_minutes_are_emitted_once(emu: Emulator, tmp_path: Path) -> None:
    first = sync(emu, tmp_path, None, "first", sources=["linkedin_company"])
    state = first.final_state
    delivered = set(first.ids())
    for minute in range(3):
        # New posts dated minutes after the previous ones: inside the lookback window.
        emu.add_posts("linkedin_company", 7, f"2024-12-31T23:0{minute}:00",
                      f"2024-12-31T23:0{minute}:59")  # fmt: skip
        result = sync(emu, tmp_path, state, f"tick{minute}", sources=["linkedin_company"])
        assert len(result.ids()) == 7
        assert not set(result.ids()) & delivered
        delivered |= set(result.ids())
        state = result.final_state


@pytest.mark.parametrize("mode", ["ignore", "match_none"])
def test_server_without_found_filter_gets_the_task_range_sweep_without_reemitting_history(
    emu: Emulator, tmp_path: Path, mode: str
) -> None:
    task_id = repeating_task(emu)
    first = sync(emu, tmp_path, None, "first")
    emu.configure(found_ranges=mode)
    added = rerun(emu, task_id)
    result = sync(emu, tmp_path, first.final_state, "task-range")
    searches = len(result.sent("/api/search"))
    warnings = [line for line in result.stderr.splitlines() if "does not filter" in line]
    assert len(warnings) == 1
    assert "content.found" in warnings[0]
    new = set(result.ids()) - set(first.ids())
    assert len(new) == added
    assert len(result.ids()) == added  # the task range is read again, its history not emitted
    assert searches > HISTORY / 100  # what the task-range sweep costs in requests: the whole range
    # The next sync, the task unchanged: nothing read again, nothing emitted.
    quiet = sync(emu, tmp_path, result.final_state, "quiet")
    quiet_searches = len(quiet.sent("/api/search"))
    assert quiet.ids() == []
    assert quiet_searches <= 6


def test_server_ignoring_doc_date_ranges_stops_with_one_line(emu: Emulator, tmp_path: Path) -> None:
    emu.configure(doc_date_ranges="ignore")
    result = run_tap(tmp_path, config_for(emu, sources=["tiktok_hashtag"],
                                          end_date="2024-06-01T00:00:00Z"))  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "outside the requested range" in last
    assert "does not filter on doc_date ranges" in last


def test_a_state_follows_at_most_every_2000_posts(emu: Emulator, tmp_path: Path) -> None:
    result = run_tap(tmp_path, config_for(emu, max_concurrency=2))
    assert result.returncode == 0, result.stderr
    gaps, since = [], 0
    for line in result.stdout.splitlines():
        message = json.loads(line)
        kind = message["type"]
        if kind == "RECORD" and message["stream"] == "search_results":
            since += 1
        elif kind == "STATE":
            gaps.append(since)
            since = 0
    assert sum(gaps) == HISTORY
    assert max(gaps) <= 2_100  # 2,000 plus posts sharing the boundary doc_date
    assert len(gaps) >= HISTORY / 2_000


def test_repeated_interruptions_make_progress(emu: Emulator, tmp_path: Path) -> None:
    """Syncs SIGKILLed 3,800 posts after they start, each resumed from the last STATE it
    wrote, still get through the 25,000 posts: each restart re-emits at most one span."""
    config = write_json(tmp_path / "config.json", config_for(emu))
    delivered: set[str] = set()
    state: dict[str, Any] | None = None
    runs = 0
    while True:
        runs += 1
        assert runs <= 20, "interrupted syncs stopped making progress"
        args = [*TAP, "--config", str(config)]
        if state is not None:
            args += ["--state", str(write_json(tmp_path / f"state{runs}.json", state))]
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   env=clean_env())  # fmt: skip
        assert process.stdout is not None
        emitted: list[str] = []
        saved = 0
        for raw in process.stdout:
            message = json.loads(raw)
            if message["type"] == "RECORD" and message["stream"] == "search_results":
                emitted.append(message["record"]["id"])
                if len(emitted) >= 3_800:
                    break
            elif message["type"] == "STATE":
                state, saved = message["value"], len(emitted)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert len(emitted) - saved <= 2_100  # what this run loses: one checkpoint span
        delivered |= set(emitted)
        if len(emitted) < 3_800:
            break  # the run finished
    assert len(delivered) == HISTORY
    assert runs <= 15


def test_end_date_backfill_delivers_exactly_its_range_then_hands_over(
    emu: Emulator, tmp_path: Path
) -> None:
    source = "tiktok_hashtag"
    truth = all_ids(emu, tmp_path, source)
    bounds = {"start_date": "2024-03-01T00:00:00Z", "end_date": "2024-06-01T00:00:00Z"}
    backfill = sync(emu, tmp_path, None, "backfill", sources=[source], **bounds)
    wanted = {i for i, d in truth.items() if "2024-03-01" <= d < "2024-06-01"}
    assert wanted
    assert set(backfill.ids()) == wanted
    assert backfill.duplicates() == 0
    bookmark = partition(backfill.final_state, "data365_tiktok_hashtag")["replication_key_value"]
    assert bookmark == max(truth[i] for i in wanted)  # never past what the run read
    rest = sync(emu, tmp_path, backfill.final_state, "rest", sources=[source],
                   start_date=bounds["start_date"])  # fmt: skip
    after = {i for i, d in truth.items() if d >= "2024-03-01"}
    assert set(backfill.ids()) | set(rest.ids()) == after
    assert not set(backfill.ids()) & set(rest.ids())


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ({"end_date": "next spring"}, "setting end_date is not a date-time"),
        (
            {"start_date": "2024-06-01T00:00:00Z", "end_date": "2024-06-01T00:00:00Z"},
            "setting end_date must be later than start_date",
        ),
    ],
)
def test_a_bad_end_date_is_one_line_and_no_request(
    emu: Emulator, tmp_path: Path, bounds: dict[str, str], message: str
) -> None:
    result = run_tap(tmp_path, config_for(emu, **bounds))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert message in result.stderr.strip().splitlines()[-1]
    assert emu.requests == []


def test_a_discovery_sweep_past_the_10000_result_window_is_split(
    emu: Emulator, tmp_path: Path
) -> None:
    first = sync(emu, tmp_path, None, "first")
    for _ in range(11):  # 11,000 posts found at 11 moments, all dated long before the bookmark
        emu.add_posts(BIG, 1_000, "2024-05-01", "2024-05-31")
    result = sync(emu, tmp_path, first.final_state, "many")
    searches = len(result.sent("/api/search"))
    assert len(set(result.ids())) == len(result.ids()) == 11_000
    assert not set(result.ids()) & set(first.ids())
    assert searches < 11_000 / 100 * 2  # the found windows were split, not re-read whole


def test_repeating_task_with_every_emulator_switch_on(emu: Emulator, tmp_path: Path) -> None:
    """Faults, another result order, a total in responses, list lag, a finished spelling."""
    task_id = repeating_task(emu)
    emu.configure(fault_rate=0.1, fault_kinds=["429", "503", "drop"], retry_after=0,
                  search_order="doc_date_desc", honour_sort=False, include_total=True,
                  finish_status="finished", list_status_lag=True)  # fmt: skip
    first = sync(emu, tmp_path, None, "first", max_retries=10)
    assert len(set(first.ids())) == HISTORY
    added = rerun(emu, task_id)
    result = sync(emu, tmp_path, first.final_state, "rerun", max_retries=10)
    assert len(result.ids()) == added
    answered = [r for r in emu.requests if r.path.startswith("/api/search") and r.status == 200]
    assert len(answered) <= 10


def test_a_state_from_before_the_found_mark_migrates_in_one_sync(
    emu: Emulator, tmp_path: Path
) -> None:
    task_id = repeating_task(emu)
    first = sync(emu, tmp_path, None, "first")
    old = json.loads(json.dumps(first.final_state))
    for key in ("found_mark", "zone"):
        partition(old).pop(key)  # what the previous version of the tap wrote
    added = rerun(emu, task_id)
    migrated = sync(emu, tmp_path, old, "migrated")
    assert len(set(migrated.ids()) - set(first.ids())) == added  # through the task's range
    assert "found_mark" in partition(migrated.final_state)
    added = rerun(emu, task_id)
    after = sync(emu, tmp_path, migrated.final_state, "after")
    searches = len(after.sent("/api/search"))
    assert len(after.ids()) == added
    assert searches <= 10
