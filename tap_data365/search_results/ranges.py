"""Date ranges of the search: a window on ``doc_date`` or ``content.found``, as a Lucene
range, split in halves, merged with others, and the check that a post lies inside it.

Dates compare as strings in the fixed-width UTC format (``normalize.FIXED_WIDTH``): a post's
two dates are normalised once, when its hit becomes a ``Post`` (hits.py), and travel with it.

Every bound is a whole millisecond (``whole_ms``): the Search API's indexes keep dates as
Elasticsearch ``date`` fields do, in milliseconds, and read a bound with microseconds as the
millisecond it falls in. A window split at a microsecond instant would leave the posts of
that millisecond in neither half as the tap sees them; split at whole milliseconds, windows
are contiguous and disjoint as the server reads them too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

from tap_data365.normalize import format_timestamp

#: The precision of the API's dates, and the narrowest window: one that is still too large
#: to page cannot be split (the read stops with one line, windows.WindowTooLargeError).
MIN_WIDTH = dt.timedelta(milliseconds=1)
#: Where an open-ended window is cut when it must be split and already starts after "now".
OPEN_END_STEP = dt.timedelta(days=1)
DOC_DATE = "doc_date"
FOUND = "content.found"

Record = dict[str, Any]


def whole_ms(moment: dt.datetime) -> dt.datetime:
    """The millisecond ``moment`` falls in, as the server reads it: every bound the tap sends
    (split points, ``now``, the marks that become bounds) goes through here."""
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


class Post(NamedTuple):
    """A record as emitted, with its id and dates as the sync reads them (made in hits.py)."""

    record: Record
    id: str
    #: Fixed-width UTC; None when absent or unreadable (it cannot be checked or bookmarked).
    doc_date: str | None
    found: str | None

    def date(self, field: str) -> str | None:
        return self.doc_date if field == DOC_DATE else self.found


@dataclass(frozen=True)
class Window:
    """Posts with ``start <= field < end``; ``end=None`` means no upper bound. Both bounds
    are whole milliseconds (floored when made)."""

    start: dt.datetime
    end: dt.datetime | None = None
    field: str = DOC_DATE

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", whole_ms(self.start))
        if self.end is not None:
            object.__setattr__(self, "end", whole_ms(self.end))

    def clause(self) -> str:
        """The window as a Lucene range (inclusive start, exclusive end)."""
        end = "*" if self.end is None else f'"{format_timestamp(self.end)}"'
        return f'{self.field}:["{format_timestamp(self.start)}" TO {end}}}'

    def split(self, now: dt.datetime) -> tuple[Window, Window]:
        """Two halves, cut at a whole millisecond strictly inside a ``splittable`` window; an
        open window is cut at ``now`` (or a day after its start)."""
        if self.end is None:
            middle = now if now > self.start + MIN_WIDTH else self.start + OPEN_END_STEP
        else:
            middle = self.start + (self.end - self.start) / 2
        middle = whole_ms(middle)  # > start: the window is at least 2 ms wide
        return Window(self.start, middle, self.field), Window(middle, self.end, self.field)

    def outside(self, post: Post) -> str | None:
        """The post's value of ``field`` when it lies outside the window as the server reads
        it (None: inside or unknown). The server reads the value as the millisecond it falls
        in; against whole-millisecond bounds that is comparing the value itself: a post at
        12:00:00.827400 is inside [12:00:00.827, …) and outside [… , 12:00:00.827)."""
        return self.first_outside((post,))

    def first_outside(self, posts: Iterable[Post]) -> str | None:
        """``outside`` of the first of ``posts`` that lies outside (None: none does), without
        a call per post: every post read is checked."""
        start, end = self._bounds
        if self.field == DOC_DATE:
            dates = (post.doc_date for post in posts)
        else:
            dates = (post.found for post in posts)
        for value in dates:
            if value is not None and (value < start or (end is not None and value >= end)):
                return value
        return None

    @cached_property
    def _bounds(self) -> tuple[str, str | None]:
        # Formatted once per window, not once per post it holds.
        end = None if self.end is None else format_timestamp(self.end)
        return format_timestamp(self.start), end

    def describe(self) -> str:
        end = "open end" if self.end is None else format_timestamp(self.end)
        return f"[{format_timestamp(self.start)}, {end})"

    @property
    def splittable(self) -> bool:
        """False once the window is as narrow as the API's dates (one millisecond)."""
        return self.end is None or self.end - self.start > MIN_WIDTH


def combine_query(base_query: str, window: Window, fixed_range: Window | None = None) -> str:
    """The user's query restricted to a window (``*`` needs no parentheses)."""
    clauses = [window.clause()]
    if fixed_range is not None:
        clauses.append(fixed_range.clause())
    base = base_query.strip()
    if base not in {"", "*"}:
        clauses.insert(0, f"({base})")
    return " AND ".join(clauses)


def merge_ranges(
    ranges: Iterable[tuple[dt.datetime, dt.datetime | None]],
) -> list[Window]:
    """Sorted, non-overlapping windows covering the union of the given ranges."""
    merged: list[Window] = []
    floored = ((whole_ms(start), None if end is None else whole_ms(end)) for start, end in ranges)
    for start, end in sorted(floored, key=lambda r: r[0]):
        if end is not None and end <= start:
            continue
        if merged and (merged[-1].end is None or start <= merged[-1].end):
            last = merged[-1]
            new_end = None if last.end is None or end is None else max(last.end, end)
            merged[-1] = Window(last.start, new_end)
        else:
            merged.append(Window(start, end))
    return merged
