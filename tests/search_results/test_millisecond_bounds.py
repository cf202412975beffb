"""Windows at the API's precision: every bound the tap sends is a whole millisecond.

The Search API's indexes keep dates in milliseconds (Elasticsearch ``date`` fields) and read a
bound with microseconds as the millisecond it falls in; so does the emulator by default
(``date_precision="ms"``). A window split at a microsecond instant leaves the posts of that
millisecond in neither half as the tap sees them, and the sync stopped with "outside the
requested range" at the same place every later sync (issue 22). Posts here are dated a
fraction of a millisecond apart (their text keeps the microseconds, as ``_source`` does).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from data365_emulator import Emulator
from tap_data365.normalize import format_timestamp
from tap_data365.search_results.ranges import Post, Window
from tests.helpers.emulator import start_emulator
from tests.helpers.tap import SyncResult, sync

SOURCE = "tiktok_hashtag"
NOON = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
#: A timestamp inside a query (the tap writes the fixed-width format).
_BOUND = re.compile(r'"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)"')
#: Posts one window can hold: beyond it (from ≤ 9,900, size 100) a window must be split.
PAGEABLE = 10_000


def _at(micros: int) -> str:
    return format_timestamp(NOON + dt.timedelta(microseconds=micros))


def _add(emu: Emulator, doc_dates: list[str], found: str | None = None) -> dict[str, str]:
    """Posts dated exactly ``doc_dates`` (found at ``found``, default now): id → doc_date."""
    return dict(zip(emu.add_dated_posts(SOURCE, doc_dates, found), doc_dates, strict=True))


def _sync(
    emu: Emulator, tmp_path: Path, end_us: int, name: str = "run", state: Any = None
) -> SyncResult:
    """A backfill of [noon, noon + end_us µs) of the one source."""
    return sync(
        emu,
        tmp_path,
        state,
        name,
        sources=[SOURCE],
        start_date=_at(0),
        end_date=_at(end_us),
        max_retries=0,
    )


def _bounds(result: SyncResult) -> list[str]:
    """Every date the run's searches and counts sent in a query."""
    queries = [
        str(r.body["query"]["query"]) for r in result.requests if r.body and "query" in r.body
    ]
    return [bound for query in queries for bound in _BOUND.findall(query)]


def _assert_delivered_once(result: SyncResult, posts: dict[str, str]) -> None:
    delivered = {r["id"]: r["doc_date"] for r in result.records["search_results"]}
    assert result.duplicates() == 0
    assert len(result.ids()) == len(posts)
    assert delivered == posts  # every post, its doc_date as stored (microseconds kept)


@pytest.mark.parametrize("precision", ["ms", "us"])
def test_a_window_split_between_posts_a_fraction_of_a_millisecond_apart(
    tmp_path: Path, precision: str
) -> None:
    # [12:00:00, 12:00:01.655) holds more than a window can page: halved, its middle is
    # 12:00:00.8275 — inside the millisecond of the posts at .827100 and .827900 (and of the
    # ones dated every 163 µs around them). The split is sent as .827, as the server reads it.
    end_us = 1_655_000
    dates = [_at(i * 163) for i in range(PAGEABLE + 100)]
    dates += ["2024-05-01T12:00:00.827100Z", "2024-05-01T12:00:00.827900Z"]
    with start_emulator(empty=True, date_precision=precision, count_api="absent") as emu:
        posts = _add(emu, dates)
        result = _sync(emu, tmp_path, end_us)

    _assert_delivered_once(result, posts)
    bounds = _bounds(result)
    assert "2024-05-01T12:00:00.827000Z" in bounds  # the window was split there
    assert all(bound.endswith("000Z") for bound in bounds), sorted(set(bounds))


@pytest.mark.parametrize("count_api", ["honour", "absent"])
def test_a_dense_window_split_many_times_delivers_every_post_once(
    tmp_path: Path, count_api: str
) -> None:
    # 32,000 posts in 40 ms (800 per millisecond, microseconds apart): cut into parts at a
    # sample's dates (Count API) or halved down to 5 ms (probing), every cut a whole ms.
    # Found in four batches (the next sync's discovery sweep splits them by content.found:
    # more than 10,000 found in one millisecond could not be paged at all).
    span_us, total, batches = 40_000, 32_000, 4
    dates = [_at(i * span_us // total) for i in range(total)]
    found_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=10)
    with start_emulator(empty=True, date_precision="ms", count_api=count_api) as emu:
        posts: dict[str, str] = {}
        for batch in range(batches):
            found = format_timestamp(found_at + dt.timedelta(microseconds=1_234_567 * batch))
            posts |= _add(emu, dates[batch::batches], found)
        first = _sync(emu, tmp_path, span_us)
        # The bookmark has microseconds (.039xxx): the next sync starts at its millisecond
        # and reads it again; the boundary zone skips what it delivered.
        again = _sync(emu, tmp_path, span_us, name="again", state=first.final_state)

    _assert_delivered_once(first, posts)
    bounds = _bounds(first)
    assert all(bound.endswith("000Z") for bound in bounds), sorted(set(bounds))
    windows = {b for b in bounds if _at(0) < b < _at(span_us)}
    assert len(windows) >= total // PAGEABLE  # split several times
    assert again.records.get("search_results", []) == []
    assert all(bound.endswith("000Z") for bound in _bounds(again))


def test_bounds_are_whole_milliseconds_and_posts_are_judged_as_the_server_reads_them() -> None:
    start, end = NOON + dt.timedelta(microseconds=400), NOON + dt.timedelta(microseconds=3_700)
    window = Window(start, end)
    assert (window.start, window.end) == (NOON, NOON + dt.timedelta(milliseconds=3))
    lower, upper = window.split(NOON)
    assert lower.end == upper.start == NOON + dt.timedelta(milliseconds=1)
    assert Window(NOON, NOON + dt.timedelta(microseconds=1_999)).splittable is False
    # The server stores .827400 as .827: inside [.827, …), outside [… , .827).
    post = Post({}, "p", "2024-05-01T12:00:00.827400Z", None)
    at_827 = NOON + dt.timedelta(microseconds=827_000)
    assert Window(NOON + dt.timedelta(microseconds=827_999)).outside(post) is None
    assert Window(NOON, at_827 + dt.timedelta(microseconds=300)).outside(post) is not None
    assert Window(NOON, at_827 + dt.timedelta(milliseconds=1)).outside(post) is None
