"""Date ranges of the search: a window on ``doc_date`` or ``content.found``, as a Lucene
range, split in halves, merged with others, and the check that a post lies inside it.

Dates compare as strings in the fixed-width UTC format (``normalize.FIXED_WIDTH``): a post's
two dates are normalised once, when its hit becomes a ``Post`` (hits.py), and travel with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

from tap_data365.normalize import format_timestamp

#: A window narrower than this cannot be split further.
MIN_WIDTH = dt.timedelta(milliseconds=1)
#: Where an open-ended window is cut when it must be split and already starts after "now".
OPEN_END_STEP = dt.timedelta(days=1)
DOC_DATE = "doc_date"
FOUND = "content.found"

Record = dict[str, Any]


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
    """Posts with ``start <= field < end``; ``end=None`` means no upper bound."""

    start: dt.datetime
    end: dt.datetime | None = None
    field: str = DOC_DATE

    def clause(self) -> str:
        """The window as a Lucene range (inclusive start, exclusive end)."""
        end = "*" if self.end is None else f'"{format_timestamp(self.end)}"'
        return f'{self.field}:["{format_timestamp(self.start)}" TO {end}}}'

    def split(self, now: dt.datetime) -> tuple[Window, Window]:
        """Two halves; an open window is cut at ``now`` (or a day after its start)."""
        if self.end is None:
            middle = now if now > self.start + MIN_WIDTH else self.start + OPEN_END_STEP
        else:
            middle = self.start + (self.end - self.start) / 2
        return Window(self.start, middle, self.field), Window(middle, self.end, self.field)

    def outside(self, post: Post) -> str | None:
        """The post's value of ``field`` when it lies outside the window (None: inside or
        unknown)."""
        value = post.date(self.field)
        if value is None:
            return None
        start, end = self._bounds
        if value < start or (end is not None and value >= end):
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
        """False once the window is as narrow as a single instant."""
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
