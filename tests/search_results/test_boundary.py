"""The boundary zone and the two lookbacks, on their own: exact at any volume, compact,
a ceiling that warns, and each lookback guarding what it is for."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

from tap_data365.normalize import format_timestamp
from tap_data365.search_results.boundary import zone_size
from tap_data365.search_results.checkpoints import SourceCheckpoint
from tap_data365.search_results.hits import search_post
from tap_data365.search_results.plan import plan_sync
from tap_data365.search_results.ranges import Window
from tap_data365.search_results.state_check import check_state
from tap_data365.settings import Settings

#: The declared defaults, as a sync without settings reads them.
DEFAULT_SETTINGS = Settings.from_config({})

UTC = dt.UTC
NOW = dt.datetime(2026, 1, 1, tzinfo=UTC)
BASE = dt.datetime(2025, 12, 31, 20, 0, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)


def checkpoint(state: dict[str, Any], **options: Any) -> SourceCheckpoint:
    options.setdefault("lookback", HOUR)
    options.setdefault("zone_limit", DEFAULT_SETTINGS.boundary_zone_max_posts)
    return SourceCheckpoint(state, now=NOW, **options)


def post(number: int, moment: dt.datetime) -> dict[str, Any]:
    text = format_timestamp(moment)
    return {"id": f"post-{number}", "doc_date": text, "content": {"found": text}}


def deliver(check: SourceCheckpoint, posts: list[dict[str, Any]]) -> int:
    emitted = sum(check.accept(search_post(p, "index"), task_range=False) for p in posts)
    check.window_done(Window(BASE - dt.timedelta(days=1), None), task_range=False)
    check.finish()
    return emitted


def busy_hour(count: int) -> list[dict[str, Any]]:
    """``count`` posts dated and found within one hour: all of them in the next sync's zone."""
    step = HOUR / (count + 1)
    return [post(i, BASE + step * i) for i in range(count)]


def partition(zone: Any) -> dict[str, Any]:
    return {"bookmarks": {"search_results": {"partitions": [{"context": {}, "zone": zone}]}}}


def test_every_post_of_a_busy_zone_is_remembered_in_about_11_bytes() -> None:
    posts = busy_hour(20_000)
    state: dict[str, Any] = {}
    assert deliver(checkpoint(state), posts) == 20_000
    assert zone_size(state["zone"]) == 20_000  # no count cap below the ceiling
    assert len(json.dumps(state["zone"])) / 20_000 <= 11  # ≤ ~16 bytes per post asked
    assert check_state(partition(state["zone"])) is None
    again = checkpoint(state)
    assert deliver(again, posts) == 0  # every re-read post is recognised
    assert again.counts.skipped_seen == 20_000
    assert deliver(again, [post(20_001, BASE + HOUR / 2)]) == 1  # a new one is not


def test_a_quiet_source_keeps_a_few_bytes() -> None:
    state: dict[str, Any] = {}
    deliver(checkpoint(state), busy_hour(20))
    assert len(json.dumps(state["zone"])) < 1_000  # 20 posts over 12 five-minute buckets


def test_the_zone_forgets_what_no_sync_reads_again() -> None:
    state: dict[str, Any] = {}
    deliver(checkpoint(state, discovery_lookback=dt.timedelta(minutes=10)), busy_hour(3_000))
    # A post dated and found a day later moves both marks: the busy hour leaves the zone.
    later = checkpoint(state, discovery_lookback=dt.timedelta(minutes=10))
    assert deliver(later, [post(99_999, BASE + dt.timedelta(days=1))]) == 1
    assert zone_size(state["zone"]) == 1


def test_past_the_ceiling_the_posts_leaving_soonest_are_forgotten_and_counted() -> None:
    posts = busy_hour(1_500)
    state: dict[str, Any] = {}
    check = checkpoint(state, zone_limit=1_000)
    deliver(check, posts)
    assert check.counts.zone_overflow == 500
    assert zone_size(state["zone"]) == 1_000
    again = checkpoint(state, zone_limit=1_000)
    assert deliver(again, posts[-900:]) == 0  # the newest are remembered
    assert deliver(again, posts[:100]) == 100  # the earliest come again (never lost)


def test_a_zone_written_by_the_previous_version_is_read_then_replaced() -> None:
    moment = format_timestamp(BASE)
    seconds = int(BASE.timestamp())
    old_hash = base64.urlsafe_b64encode(hashlib.blake2b(b"post-1", digest_size=8).digest()).decode()
    state: dict[str, Any] = {
        "replication_key_value": moment,
        "found_mark": moment,
        "seen": {old_hash.rstrip("="): [seconds, seconds]},
    }
    assert check_state(partition(None) | {"bookmarks": {"x": state}}) is None
    check = checkpoint(state)
    assert deliver(check, [post(1, BASE), post(2, BASE)]) == 1
    assert "seen" not in state
    assert zone_size(state["zone"]) == 2


def test_a_damaged_zone_is_named() -> None:
    assert check_state(partition("x")) is not None
    problem = check_state(partition([[0, 0, "not base64!"]]))
    assert problem is not None
    assert "zone" in problem
    assert check_state(partition([[0, 0, base64.b64encode(b"short").decode()]])) is not None


def test_each_lookback_guards_its_own_sweep() -> None:
    state: dict[str, Any] = {
        "replication_key_value": "2025-12-31T00:00:00.000000Z",
        "found_mark": "2026-01-01T00:00:00.000000Z",
    }
    options = {"lookback": HOUR, "discovery_lookback": dt.timedelta(minutes=10)}
    start, floor = dt.datetime(2025, 12, 31, tzinfo=UTC), dt.datetime(2024, 1, 1, tzinfo=UTC)
    check = checkpoint(dict(state), **options)
    plan = plan_sync(check.state, [], check.lookbacks, start=start, floor=floor)
    # The discovery sweep re-reads the index delay, the doc_date sweep nothing before the
    # bookmark (posts indexed out of order are found recently, so the discovery sweep has them).
    assert plan.discovery == Window(NOW - dt.timedelta(minutes=10), None, "content.found")
    assert plan.doc_date == Window(start, None)
    # Without a discovery sweep the doc_date lookback is the only guard, and applies.
    check = checkpoint(dict(state), **options)
    without = plan_sync(
        check.state, [], check.lookbacks, start=start, floor=floor, found_filter=False
    )
    assert without.discovery is None
    assert without.doc_date == Window(start - HOUR, None)
