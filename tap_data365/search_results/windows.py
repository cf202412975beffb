"""Search windows: read every post of an index despite the 10,000-result window.

The Search API pages with ``from``/``size`` and refuses ``from`` past 9,900, promises no
total and no order. So each request is restricted to a date window (on ``doc_date``, or on
``content.found`` for the discovery sweep) inside the Lucene query; a window whose page at
the last reachable offset is still full may hold more than the API can page through, and is
split in two halves that are read instead. A completed window holds all its posts, so they
can be handed out sorted by the window's field in checkpoint chunks (``checkpoints.chunks``):
a checkpoint after each chunk costs no request.

Nothing about the ranges is taken on trust: every post must lie inside the window it was
asked for (and the sweep's fixed range), else the server ignores the range and the read
stops with one line rather than deliver duplicates or skip posts.

A window is read with all its pages in flight at once (``concurrency`` requests); windows
come out in ascending date order, which keeps checkpoints simple: once a window is handed
out, every post dated before its end has been read. The requests stay in flight across
window boundaries: what the next window will certainly ask for is asked right behind the
current window's pages (``inflight.py``), so it is read while this one is handed out.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tap_data365.errors import Data365Error
from tap_data365.normalize import format_timestamp
from tap_data365.search_results.inflight import PageFetcher, PagePipeline, PageRequests
from tap_data365.search_results.ranges import Post, Window, combine_query

if TYPE_CHECKING:
    from tap_data365.search_results.sizing import WindowSizer

#: The API refuses a ``from`` beyond this offset.
MAX_FROM = 9_900

#: Rounds of ``concurrency`` requests asked ahead of the window being read: enough to keep
#: every slot busy while a window is handed out at 100 ms per request (3 were not when the
#: next window's first pages, asked a window early, still filled them); a whole window
#: ahead (100 pages) cost 1.32x the peak memory at 250,000 posts without latency for no gain.
AHEAD_ROUNDS = 5
#: Windows to read instead of one, each with its count (None: unknown).
Parts = list[tuple[Window, int | None]]


@dataclass(frozen=True)
class CompletedWindow:
    """A window read to the end, with its posts (deduplicated by id)."""

    window: Window
    posts: list[Post]


class WindowTooLargeError(Data365Error):
    """More posts share one millisecond (the narrowest window) than the API can page."""


class RangeIgnoredError(Data365Error):
    """The server returned a post outside the range that was asked for."""


class WindowReader:
    """Reads windows with ``from``/``size`` paging, splitting the ones that are too large.

    With a ``sizer`` (sizing.py) a window whose first page is full is counted: one too
    large is cut before more of it is read, one that fits has all its pages asked for at
    once. Without one, or once counting is off, the page at the last reachable offset is
    probed instead.
    """

    def __init__(
        self,
        fetch_page: PageFetcher,
        *,
        base_query: str,
        page_size: int,
        concurrency: int,
        now: dt.datetime,
        describe: str,
        fixed_range: Window | None = None,
        sizer: WindowSizer | None = None,
        pipeline: PagePipeline | None = None,
    ) -> None:
        self._fetch_page = fetch_page
        self._base_query = base_query
        self._page_size = page_size
        self._concurrency = max(1, concurrency)
        self._now = now
        self._describe = describe
        #: A second range ANDed into every window's query (the discovery sweep's doc_date
        #: bounds), checked on every post like the window.
        self._fixed_range = fixed_range
        self._sizer = sizer
        #: Offset of the last page the API lets us read.
        self._last_from = (MAX_FROM // page_size) * page_size
        #: Shared by the readers of one sync's sweeps (None: ``read`` has its own).
        self._shared_pipeline = pipeline
        self._pipeline: PagePipeline | None = None

    def query(self, window: Window) -> str:
        """The Lucene query a window is read with."""
        return combine_query(self._base_query, window, self._fixed_range)

    def read(self, windows: Sequence[Window], then: str | None = None) -> Iterator[CompletedWindow]:
        """Completed windows in ascending date order (parts replace the window they cut).

        One window at a time, its pages ``concurrency`` at once, with what the next window
        (or, after the last, the first page of ``then``: the next sweep's first query) will
        certainly ask for in flight behind them: memory holds one window's posts and at most
        ``AHEAD_ROUNDS`` rounds of pages ahead, whatever the total.
        """
        pending: deque[tuple[Window, int | None]] = deque((window, None) for window in windows)
        own = None
        if self._shared_pipeline is None:
            own = page_pipeline(self._fetch_page, self._page_size, self._concurrency)
        pipeline = self._pipeline = self._shared_pipeline or own
        assert pipeline is not None
        try:
            while pending:
                window, expected = pending.popleft()
                pipeline.plan_ahead(self._certain_requests(pending, then))
                outcome = self.read_window(window, expected)
                if isinstance(outcome, CompletedWindow):
                    yield outcome
                else:
                    pending.extendleft(reversed(outcome))  # in the place of the window they cut
                del outcome  # a handed-out window's posts are not kept while the next is read
        finally:
            self._pipeline = None
            if own is not None:
                own.close()

    def _certain_requests(
        self, pending: deque[tuple[Window, int | None]], then: str | None
    ) -> PageRequests:
        """The pages ``read_window`` will ask for when it reads the next windows, and then
        the first page of ``then``: up to one window's pages (what the pipeline holds)."""
        requests: PageRequests = []
        room = self._last_from // self._page_size + 1
        for window, expected in pending:
            offsets = self._first_offsets(window, expected)
            if offsets:
                requests.append((self.query(window), offsets[:room]))
                room -= len(offsets)
            if room <= 0:
                return requests
        return requests if then is None else [*requests, (then, [0])]

    def _first_offsets(self, window: Window, expected: int | None) -> list[int]:
        """The pages ``read_window`` asks for first, whatever they hold."""
        if expected is None:
            return [0]
        size = self._page_size
        if expected >= self._last_from + size and window.splittable and self._sizer is not None:
            return []  # cut before any page is read
        last = min(expected // size * size, self._last_from)
        return list(range(0, last + size, size))

    def read_window(self, window: Window, expected: int | None = None) -> CompletedWindow | Parts:
        """Every post of one window, or the parts to read instead when it holds more than
        the API can page. ``expected``: the window's count, when known."""
        query = self.query(window)
        size = self._page_size
        fits = self._last_from + size  # a window with fewer posts can be paged whole
        pages: list[list[Post]] = []
        if expected is None:
            first = self._fetch_checked(window, query, 0)
            if len(first) < size:
                return CompletedWindow(window, _unique(first))
            expected = None if self._sizer is None else self._sizer.count(query)
            if expected is None:
                return self._probed(window, query, first)
            pages.append(first)
        if expected >= fits and window.splittable and self._sizer is not None:
            # The first page read is a sample of where the posts lie; a part still too large
            # is halved (a sample from a server that sorts would only show one end).
            parts = self._sizer.cut(window, expected, pages[0], self._now) if pages else None
            return self._counted_parts(parts or list(window.split(self._now)), expected)
        return self._counted(window, query, expected, pages)

    def _counted_parts(self, parts: list[Window], total: int) -> Parts:
        """The parts of a window, each counted but the last (the total tells it)."""
        sizer = self._sizer
        assert sizer is not None
        queries = [self.query(part) for part in parts[:-1]]
        mapper = map if self._pipeline is None else self._pipeline.map
        counts: list[int | None] = list(mapper(sizer.count, queries))
        known = [c for c in counts if c is not None]
        rest = total - sum(known)
        counts.append(rest if len(known) == len(counts) and rest >= 0 else None)
        return list(zip(parts, counts, strict=True))

    def _counted(
        self, window: Window, query: str, expected: int, pages: list[list[Post]], attempt: int = 0
    ) -> CompletedWindow | Parts:
        """All pages up to the one the count expects to be short, at once; then one at a
        time while the last is still full (the count was low: it is checked, not trusted)."""
        size = self._page_size
        last = min(expected // size * size, self._last_from)
        pages = [
            *pages,
            *self._fetch_many(query, list(range(len(pages) * size, last + size, size))),
        ]
        probe: list[Post] | None = None
        if len(pages[-1]) >= size and len(pages) * size <= self._last_from:
            # The page expected to be short is full: the count was low. Probe the last
            # reachable page before reading on, as for a window without a count.
            if self._sizer is not None:
                self._sizer.verify(window, expected, len(pages) * size, at_least=True)
            probe = self._fetch_checked(window, query, self._last_from)
        while len(pages[-1]) >= size:
            offset = len(pages) * size
            if offset > self._last_from or (probe is not None and len(probe) >= size):
                if window.splittable:
                    return [(half, None) for half in window.split(self._now)]
                raise self._too_large(window)
            probed = probe is not None and offset == self._last_from
            pages.append(probe if probed and probe else self._fetch_many(query, [offset])[0])
        short = next(i for i, page in enumerate(pages) if len(page) < size)
        if any(pages[short + 1 :]):
            # A short page before a non-empty one: the window changed while being read.
            self._check_attempt(attempt)
            return self._counted(window, query, expected, [], attempt + 1)
        for page in pages[: short + 1]:
            self._check(window, page)
        posts = _unique([post for page in pages[: short + 1] for post in page])
        if self._sizer is not None:
            self._sizer.verify(window, expected, len(posts))
        return CompletedWindow(window, posts)

    def _probed(
        self, window: Window, query: str, first: list[Post], attempt: int = 0
    ) -> CompletedWindow | Parts:
        """The window read without a count: the last reachable page first, then the rest."""
        size = self._page_size
        # Look at the last reachable page before paging everything: if it is full the
        # window may hold more than we can reach, and reading it now would be wasted.
        last_from = self._last_from
        last = self._fetch_checked(window, query, last_from) if last_from > 0 else []
        if len(last) >= size and last_from > 0:
            if window.splittable:
                return [(half, None) for half in window.split(self._now)]
            raise self._too_large(window)
        pages, consistent = self._middle_pages(query, known_full=bool(last))
        if not consistent:
            # Pages disagree (a short page before a non-empty one): the window changed
            # while we read it. Reading it again is the only way to be sure of it.
            self._check_attempt(attempt)
            first = self._fetch_checked(window, query, 0)
            if len(first) < size:
                return CompletedWindow(window, _unique(first))
            return self._probed(window, query, first, attempt + 1)
        posts = [*first, *(post for page in pages for post in page), *last]
        for page in pages:
            self._check(window, page)
        return CompletedWindow(window, _unique(posts))

    def _check_attempt(self, attempt: int) -> None:
        if attempt >= 2:
            msg = f"search results of {self._describe} kept changing while being paged"
            raise Data365Error(msg)

    def _too_large(self, window: Window) -> WindowTooLargeError:
        return WindowTooLargeError(
            f"more than {self._last_from + self._page_size} posts of {self._describe} share "
            f"{window.field} {format_timestamp(window.start)}; the Search API cannot "
            "page them all, and a window of one millisecond (the precision of its dates) "
            "cannot be split"
        )

    def _fetch_checked(self, window: Window, query: str, offset: int) -> list[Post]:
        page = self._fetch_many(query, [offset])[0]
        self._check(window, page)
        return page

    def _check(self, window: Window, page: list[Post]) -> None:
        """Stop at the first post outside the ranges asked for: the server ignores them."""
        for bounds in (window, self._fixed_range):
            if bounds is None:
                continue
            value = bounds.first_outside(page)
            if value is not None:
                msg = (
                    f"the Datastreamer API returned a post of {self._describe} with "
                    f"{bounds.field} {value} outside the requested range "
                    f"{bounds.describe()}: it does not filter on {bounds.field} ranges, "
                    "so the sync stops rather than deliver duplicates or skip posts"
                )
                raise RangeIgnoredError(msg)

    def _middle_pages(self, query: str, *, known_full: bool) -> tuple[list[list[Post]], bool]:
        """The pages between the first and the last reachable one, several at a time.

        With a non-empty last page every page in between is full, so all are fetched at
        once. Otherwise pages go out in batches of ``concurrency`` until one comes back
        short (the few requests past it in its batch are the price of not waiting).
        """
        size = self._page_size
        offsets = list(range(size, self._last_from, size))
        batch = len(offsets) if known_full else self._concurrency
        pages: list[list[Post]] = []
        for start in range(0, len(offsets), batch):
            chunk = offsets[start : start + batch]
            pages.extend(self._fetch_many(query, chunk))
            short = next((i for i, page in enumerate(pages) if len(page) < size), None)
            if short is not None:
                tail = pages[short + 1 :]
                return pages[: short + 1], not known_full and not any(tail)
        return pages, True

    def _fetch_many(self, query: str, offsets: list[int]) -> list[list[Post]]:
        if self._pipeline is None:  # read_window called on its own
            return [self._fetch_page(query, offset, self._page_size) for offset in offsets]
        return self._pipeline.pages(query, offsets)


def page_pipeline(fetch_page: PageFetcher, page_size: int, concurrency: int) -> PagePipeline:
    """The pipeline of one sync's page requests, ``AHEAD_ROUNDS`` rounds of them asked ahead."""
    ahead = min(AHEAD_ROUNDS * max(1, concurrency), MAX_FROM // page_size + 1)
    return PagePipeline(fetch_page, page_size=page_size, concurrency=concurrency, ahead_limit=ahead)


def _unique(posts: list[Post]) -> list[Post]:
    """Drop repeats of an id within a window (an unstable order can repeat a post)."""
    seen: set[str] = set()
    unique: list[Post] = []
    for post in posts:
        if post.id in seen:
            continue
        seen.add(post.id)
        unique.append(post)
    return unique
