"""Date ranges of the search: a window on ``doc_date`` or ``content.found``, as a Lucene
range, split in halves, merged with others, and the post's date it checks.

Dates are compared as strings in the fixed-width UTC format (``normalize.format_timestamp``):
``doc_date`` and ``content.found`` are normalised once, when a hit becomes a record
(hits.py), so reading them here is a dictionary lookup.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from tap_data365.normalize import format_timestamp, normalize_timestamp

#: A window narrower than this cannot be split further.
MIN_WIDTH = dt.timedelta(milliseconds=1)
#: Where an open-ended window is cut when it must be split and already starts after "now".
OPEN_END_STEP = dt.timedelta(days=1)
DOC_DATE = "doc_date"
FOUND = "content.found"
#: Length of a timestamp in the fixed-width format, ``2024-01-01T00:00:00.000000Z``.
FIXED_WIDTH = 27

Record = dict[str, Any]


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

    def outside(self, record: Record) -> str | None:
        """The record's value of ``field`` when it lies outside the window (None: inside or
        unknown). Normalised values compare as strings."""
        value = record_date(record, self.field)
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


def record_date(record: Record, field: str) -> str | None:
    """``doc_date`` or ``content.found`` in the fixed-width format (None: absent or unreadable).

    Both are normalised when the hit becomes a record (hits.py), so this is a lookup; a
    value in another spelling (a record not made by hits.py) is normalised here.
    """
    if field == DOC_DATE:
        value = record.get(DOC_DATE)
        return value if isinstance(value, str) else None
    content = record.get("content")
    found = content.get("found") if type(content) is dict else None
    if type(found) is str and len(found) == FIXED_WIDTH and found[-1] == "Z":
        return found
    try:
        return normalize_timestamp(found)
    except (ValueError, OverflowError, OSError):
        return None  # an unreadable date cannot be checked; the record keeps it as sent


def combine_query(base_query: str, window: Window, also: Window | None = None) -> str:
    """The user's query restricted to a window (``*`` needs no parentheses)."""
    clauses = [window.clause()] if also is None else [window.clause(), also.clause()]
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
