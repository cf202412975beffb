"""Requests stay in flight across window and sweep boundaries, and change nothing that comes out.

The next window's first requests (and, after a sweep's last window, the next sweep's first
page) go out while this window's last ones are still being answered: the overlap is forced
by progress (a request of this window is held until one of the next has started), so a
reader that drains at the boundary never releases it. What comes out, records and STATE
messages, is the same with one request in flight as with eight.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from data365_emulator import Emulator
from tap_data365.search_results.hits import search_post
from tap_data365.search_results.ranges import Post, Window
from tap_data365.search_results.windows import CompletedWindow, WindowReader, page_pipeline
from tests.helpers import tap
from tests.helpers.emulator import start_emulator
from tests.helpers.tap import API_KEY

SOURCE = "twitter_keywords"
INDEX = "data365_" + SOURCE
#: Long enough for any answer on a loaded machine: only a reader that never sends the
#: awaited request waits this long, and then the test fails.
NEVER = 30


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator(seed_posts={SOURCE: 2_000}) as emu:
        yield emu


class HeldFetcher:
    """Real search requests, logged as they start and end; every request of ``held`` waits
    until a request of another query has started (the progress the test is about)."""

    def __init__(self, emulator: Emulator, held: str) -> None:
        self._url = emulator.url
        self._held = held
        self._session = threading.local()
        self._lock = threading.Lock()
        self._other_started = threading.Event()
        self.events: list[tuple[str, str, int]] = []

    def __call__(self, query: str, offset: int, size: int) -> list[Post]:
        with self._lock:
            self.events.append(("start", query, offset))
            if query != self._held:
                self._other_started.set()
        if query == self._held:
            assert self._other_started.wait(NEVER), "nothing else went out while it waited"
        posts = self._search(query, offset, size)
        with self._lock:
            self.events.append(("end", query, offset))
        return posts

    def _search(self, query: str, offset: int, size: int) -> list[Post]:
        session = getattr(self._session, "value", None) or requests.Session()
        self._session.value = session
        body = {"query": {"from": offset, "size": size, "query": query, "data_sources": [INDEX]}}
        response = session.post(
            f"{self._url}/api/search", json=body, headers={"apikey": API_KEY}, timeout=NEVER
        )
        response.raise_for_status()
        return [search_post(raw, INDEX) for raw in response.json()["results"]]

    def started_before_last_end(self, later: str, earlier: str) -> bool:
        """A request of ``later`` started before the last request of ``earlier`` ended."""
        first_start = next(i for i, e in enumerate(self.events) if e[:2] == ("start", later))
        last_end = max(i for i, e in enumerate(self.events) if e[:2] == ("end", earlier))
        return first_start < last_end


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)


FIRST = Window(at("2024-01-01"), at("2024-07-01"))
SECOND = Window(at("2024-07-01"), at("2025-01-01"))


def reader(fetch: HeldFetcher, concurrency: int = 4, **options: Any) -> WindowReader:
    return WindowReader(
        fetch,
        base_query="*",
        page_size=100,
        concurrency=concurrency,
        now=at("2026-01-01"),
        describe="test index",
        **options,
    )


def ids(completed: Iterator[CompletedWindow]) -> list[tuple[Window, list[str]]]:
    return [(c.window, [post.id for post in c.posts]) for c in completed]


def starts(fetch: HeldFetcher) -> list[tuple[str, int]]:
    """The (query, offset) of every request, in the order they went out."""
    return [(query, offset) for kind, query, offset in fetch.events if kind == "start"]


def test_the_next_windows_first_page_goes_out_before_this_window_is_in(
    emulator: Emulator,
) -> None:
    first = reader(HeldFetcher(emulator, "")).query(FIRST)
    second = reader(HeldFetcher(emulator, "")).query(SECOND)
    fetch = HeldFetcher(emulator, held=first)
    read = ids(reader(fetch).read([FIRST, SECOND]))
    assert fetch.started_before_last_end(second, first)
    # Nothing else changes: the same windows and posts, in order, as one request at a time.
    assert read == ids(reader(HeldFetcher(emulator, ""), concurrency=1).read([FIRST, SECOND]))
    assert len(read) == 2
    assert all(posts for _, posts in read)
    # The same requests, each once, as each window read on its own, one page at a time.
    alone = HeldFetcher(emulator, held="")
    for window in (FIRST, SECOND):
        reader(alone).read_window(window)
    assert sorted(starts(fetch)) == sorted(starts(alone))


def test_the_next_sweeps_first_page_goes_out_before_this_sweep_is_in(
    emulator: Emulator,
) -> None:
    # The second sweep reads within a fixed range, as the discovery sweep does.
    fixed = Window(at("2024-01-01"), at("2026-01-01"))
    first = reader(HeldFetcher(emulator, "")).query(FIRST)
    second = reader(HeldFetcher(emulator, ""), fixed_range=fixed).query(SECOND)
    fetch = HeldFetcher(emulator, held=first)
    with page_pipeline(fetch, 100, 4) as pipeline:
        sweep = reader(fetch, pipeline=pipeline)
        read = ids(sweep.read([FIRST], then=second))
        assert fetch.started_before_last_end(second, first)
        after = reader(fetch, pipeline=pipeline, fixed_range=fixed)
        read += ids(after.read([SECOND]))
    one = HeldFetcher(emulator, held="")
    expected = ids(reader(one, concurrency=1).read([FIRST]))
    expected += ids(reader(one, concurrency=1, fixed_range=fixed).read([SECOND]))
    assert read == expected
    assert starts(fetch).count((second, 0)) == 1  # asked ahead, then taken: not asked again
    alone = HeldFetcher(emulator, held="")
    reader(alone).read_window(FIRST)
    reader(alone, fixed_range=fixed).read_window(SECOND)
    assert sorted(starts(fetch)) == sorted(starts(alone))


def same_output(one: tap.SyncResult, eight: tap.SyncResult) -> None:
    assert one.records == eight.records
    assert one.states == eight.states
    assert one.ids()
    assert len(one.states) > 2


def test_records_and_state_are_the_same_with_one_request_in_flight_or_eight(
    tmp_path: Path,
) -> None:
    with start_emulator() as emu:  # the seeded 25,000 posts: many windows, some split
        runs = [
            tap.sync(emu, tmp_path, None, f"full-{n}", sources=[SOURCE], max_concurrency=n)
            for n in (1, 8)
        ]
        same_output(*runs)
        assert len(set(runs[0].ids())) == emu.post_count(SOURCE)
        # An incremental sync: the discovery sweep, then the doc_date sweep.
        emu.add_posts(SOURCE, 400, "2024-03-01", "2024-03-31")
        emu.add_posts(SOURCE, 300, "2024-12-30T20:00:00", "2024-12-31T00:00:00")
        state = runs[0].final_state
        late = [
            tap.sync(emu, tmp_path, state, f"late-{n}", sources=[SOURCE], max_concurrency=n)
            for n in (1, 8)
        ]
        same_output(*late)
        assert len(late[0].ids()) == 700
