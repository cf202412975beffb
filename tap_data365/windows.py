"""Search windows: read every post of an index despite the 10,000-result window.

The Search API pages with ``from``/``size`` and refuses ``from`` past 9,900, promises no
total and no order. So each request is restricted to a ``doc_date`` window inside the
Lucene query; a window whose page at the last reachable offset is still full may hold more
than the API can page through, and is split in two halves that are read instead.

Windows are independent, so several are fetched at once; completed windows come out in
ascending date order whatever order they finished in, which keeps checkpoints simple: once
a window is handed out, every post dated before its end has been read.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tap_data365.errors import Data365Error
from tap_data365.normalize import format_timestamp

#: The API refuses a ``from`` beyond this offset.
MAX_FROM = 9_900
#: A window narrower than this cannot be split further.
MIN_WIDTH = dt.timedelta(milliseconds=1)
#: Where an open-ended window is cut when it must be split and already starts after "now".
OPEN_END_STEP = dt.timedelta(days=1)

Record = dict[str, Any]
#: (lucene query, from, size) -> the page's records.
PageFetcher = Callable[[str, int, int], list[Record]]


@dataclass(frozen=True)
class Window:
    """Posts with ``start <= doc_date < end``; ``end=None`` means no upper bound."""

    start: dt.datetime
    end: dt.datetime | None = None

    def clause(self) -> str:
        """The window as a Lucene range on ``doc_date`` (inclusive start, exclusive end)."""
        end = "*" if self.end is None else f'"{format_timestamp(self.end)}"'
        return f'doc_date:["{format_timestamp(self.start)}" TO {end}}}'

    def split(self, now: dt.datetime) -> tuple[Window, Window]:
        """Two halves; an open window is cut at ``now`` (or a day after its start)."""
        if self.end is None:
            middle = now if now > self.start + MIN_WIDTH else self.start + OPEN_END_STEP
        else:
            middle = self.start + (self.end - self.start) / 2
        return Window(self.start, middle), Window(middle, self.end)

    @property
    def splittable(self) -> bool:
        """False once the window is as narrow as a single instant."""
        return self.end is None or self.end - self.start > MIN_WIDTH


@dataclass(frozen=True)
class CompletedWindow:
    """A window read to the end, with its posts (deduplicated by id)."""

    window: Window
    records: list[Record]


class WindowTooLargeError(Data365Error):
    """More posts share one instant than the API can page through."""


def combine_query(base_query: str, window: Window) -> str:
    """The user's query restricted to a window (``*`` needs no parentheses)."""
    base = base_query.strip()
    if base in {"", "*"}:
        return window.clause()
    return f"({base}) AND {window.clause()}"


def merge_ranges(
    ranges: Iterable[tuple[dt.datetime, dt.datetime | None]],
) -> list[Window]:
    """Sorted, non-overlapping windows covering the union of the given ranges."""
    merged: list[Window] = []
    for start, end in sorted(ranges, key=lambda r: r[0]):
        if end is not None and end <= start:
            continue
        if merged and (merged[-1].end is None or start <= merged[-1].end):
            last = merged[-1]
            new_end = None if last.end is None or end is None else max(last.end, end)
            merged[-1] = Window(last.start, new_end)
        else:
            merged.append(Window(start, end))
    return merged


class WindowReader:
    """Reads windows with ``from``/``size`` paging, splitting the ones that are too large."""

    def __init__(
        self,
        fetch_page: PageFetcher,
        *,
        base_query: str,
        page_size: int,
        concurrency: int,
        now: dt.datetime,
        describe: str,
    ) -> None:
        self._fetch_page = fetch_page
        self._base_query = base_query
        self._page_size = page_size
        self._concurrency = max(1, concurrency)
        self._now = now
        self._describe = describe
        #: Offset of the last page the API lets us read.
        self._last_from = (MAX_FROM // page_size) * page_size
        self._page_pool: ThreadPoolExecutor | None = None

    def read(self, windows: Sequence[Window]) -> Iterator[CompletedWindow]:
        """Completed windows in ascending date order (split halves replace their parent)."""
        pending = deque(windows)
        in_flight: deque[tuple[Window, Future[CompletedWindow | None]]] = deque()
        pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="data365-window")
        # Pages of one window are fetched in their own pool: a window waiting for its pages
        # must never hold the threads those pages need.
        self._page_pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="data365-page")
        try:
            while pending or in_flight:
                # Bounded look-ahead: about `concurrency` windows are buffered at once.
                while pending and len(in_flight) < self._concurrency:
                    window = pending.popleft()
                    in_flight.append((window, pool.submit(self.read_window, window)))
                window, future = in_flight.popleft()
                completed = future.result()
                if completed is None:
                    # The halves take the parent's place at the head of the line, ahead of
                    # the later windows already in flight.
                    lower, upper = window.split(self._now)
                    in_flight.appendleft((upper, pool.submit(self.read_window, upper)))
                    in_flight.appendleft((lower, pool.submit(self.read_window, lower)))
                    continue
                yield completed
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self._page_pool.shutdown(wait=True, cancel_futures=True)
            self._page_pool = None

    def read_window(self, window: Window, attempt: int = 0) -> CompletedWindow | None:
        """Every post of one window, or None when it holds more than the API can page."""
        query = combine_query(self._base_query, window)
        size = self._page_size
        first = self._fetch_page(query, 0, size)
        if len(first) < size:
            return CompletedWindow(window, _unique(first))
        # Look at the last reachable page before paging everything: if it is full the
        # window may hold more than we can reach, and reading it now would be wasted.
        last = self._fetch_page(query, self._last_from, size) if self._last_from > 0 else []
        if len(last) >= size and self._last_from > 0:
            if window.splittable:
                return None
            msg = (
                f"more than {self._last_from + size} posts of {self._describe} share "
                f"doc_date {format_timestamp(window.start)}; the Search API cannot page them all"
            )
            raise WindowTooLargeError(msg)
        pages, consistent = self._middle_pages(query, known_full=bool(last))
        if not consistent:
            # Pages disagree (a short page before a non-empty one): the window changed
            # while we read it. Reading it again is the only way to be sure of it.
            if attempt >= 2:
                msg = f"search results of {self._describe} kept changing while being paged"
                raise Data365Error(msg)
            return self.read_window(window, attempt=attempt + 1)
        records = [*first, *(post for page in pages for post in page), *last]
        return CompletedWindow(window, _unique(records))

    def _middle_pages(self, query: str, *, known_full: bool) -> tuple[list[list[Record]], bool]:
        """The pages between the first and the last reachable one, several at a time.

        With a non-empty last page every page in between is full, so all are fetched at
        once. Otherwise pages go out in batches of ``concurrency`` until one comes back
        short (the few requests past it in its batch are the price of not waiting).
        """
        size = self._page_size
        offsets = list(range(size, self._last_from, size))
        batch = len(offsets) if known_full else self._concurrency
        pages: list[list[Record]] = []
        for start in range(0, len(offsets), batch):
            chunk = offsets[start : start + batch]
            pages.extend(self._fetch_many(query, chunk))
            short = next((i for i, page in enumerate(pages) if len(page) < size), None)
            if short is not None:
                tail = pages[short + 1 :]
                return pages[: short + 1], not known_full and not any(tail)
        return pages, True

    def _fetch_many(self, query: str, offsets: list[int]) -> list[list[Record]]:
        size = self._page_size
        if self._page_pool is None or len(offsets) == 1:
            return [self._fetch_page(query, offset, size) for offset in offsets]
        return list(
            self._page_pool.map(lambda offset: self._fetch_page(query, offset, size), offsets)
        )


def _unique(records: list[Record]) -> list[Record]:
    """Drop repeats of an id within a window (an unstable order can repeat a post)."""
    seen: set[object] = set()
    unique: list[Record] = []
    for record in records:
        key = record.get("id")
        if key in seen:
            continue
        seen.add(key)
        unique.append(record)
    return unique
