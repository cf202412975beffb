"""Window sizing from the Count API: cut before reading, page without probing.

``POST /api/count`` (documented, "meant for counts above 10,000", but not promised for
Data365 sources) tells how many posts a window holds before its pages are read. A window too
large for the 10,000-result limit is then cut into parts of known size instead of being read
and discarded, and a window known to fit needs no probe of its page at offset 9,900: its
pages are all asked for at once, up to the one expected to be short.

A count is only a hint: every window is still read until a short page, so a wrong count
costs requests, never posts. It is verified against what the pages deliver; the first
window whose posts disagree with its count, or a count the server refuses, switches counting
off for the rest of the source's sync with one warning, and windows are probed as before.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import threading
from collections.abc import Callable, Sequence

from tap_data365.errors import Data365Error
from tap_data365.normalize import parse_timestamp
from tap_data365.search_results.ranges import Post, Window, whole_ms

#: Posts aimed at per part when a window is cut (room for a sample's error below the
#: 10,000 a window can hold).
TARGET = 8_500

#: Lucene query → the number of posts it matches (None: the answer holds no total).
Counter = Callable[[str], int | None]


class WindowSizer:
    """Counts windows while the server's counts agree with its pages."""

    def __init__(self, counter: Counter | None, warn: Callable[[str], None]) -> None:
        self._counter = counter
        self._warn = warn
        self._lock = threading.Lock()
        self.usable = counter is not None

    def count(self, query: str) -> int | None:
        """The query's total, or None once counting is off."""
        if not self.usable or self._counter is None:
            return None
        try:
            value = self._counter(query)
        except Data365Error as exc:
            self._distrust(f"it failed ({exc})")
            return None
        if value is None:
            self._distrust("its answer holds no total")
        return value if self.usable else None

    def verify(
        self, window: Window, expected: int, delivered: int, *, at_least: bool = False
    ) -> None:
        """Counting stays on only while counts match what the pages held (``at_least``: the
        window is not read to its end yet, and already holds ``delivered``)."""
        if expected < delivered or (expected != delivered and not at_least):
            held = f"at least {delivered}" if at_least else str(delivered)
            self._distrust(
                f"it counted {expected} posts in {window.describe()}, whose pages held {held}"
            )

    def _distrust(self, why: str) -> None:
        with self._lock:
            if not self.usable:
                return
            self.usable = False
        self._warn(
            f"search_results: the Datastreamer Count API is not used for the rest of this "
            f"source's sync: {why}; windows are sized by probing their last page instead"
        )

    @staticmethod
    def cut(window: Window, total: int, sample: Sequence[Post], now: dt.datetime) -> list[Window]:
        """Parts of about ``TARGET`` posts, cut at quantiles of a sample's dates.

        The sample is one page of the window: the API promises no order, so the cuts are a
        guess that the parts' counts then check (a part still too large is cut again).
        """
        parts = math.ceil(total / TARGET)
        values = sorted(v for v in (post.date(window.field) for post in sample) if v)
        cuts: list[dt.datetime] = []
        for i in range(1, parts):
            if not values:
                break
            moment = parse_timestamp(values[len(values) * i // parts])
            # Cut at the millisecond the server reads (posts of one millisecond stay together).
            moment = None if moment is None else whole_ms(moment)
            low = cuts[-1] if cuts else window.start
            if moment is not None and moment > low and (window.end is None or moment < window.end):
                cuts.append(moment)
        if not cuts:
            return list(window.split(now))
        bounds: list[dt.datetime | None] = [window.start, *cuts, window.end]
        return [
            Window(start, end, window.field)
            for start, end in itertools.pairwise(bounds)
            if start is not None
        ]
