"""One ``search_results`` state partition, typed: every key it holds, read, written and
checked in one place (planning, checkpoints and the ``--state`` file check all use it).

The SDK owns the partition's dict and writes it out as STATE; ``PartitionState`` is a view
over it. Besides the SDK's ``replication_key``/``replication_key_value`` (the doc_date
bookmark) a partition holds ``found_mark``, ``zone`` (or ``seen``, as tap versions before the
zone wrote it), ``tasks_seen``, and while a task-range sweep is pending its ranges and their
filter (see checkpoints.py for what each means), and ``index_delay``: the delay measured
between posts' discovery and their indexing (index_delay.py; absent in older states).

The keys of those two keep the names release 0.3.0 wrote (``catchup``,
``catchup_found_from``): states written by either version resume in the other.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from tap_data365.normalize import format_timestamp, parse_timestamp
from tap_data365.search_results import index_delay
from tap_data365.search_results.boundary import DIGEST, load_legacy
from tap_data365.search_results.ranges import DOC_DATE, Window

REPLICATION_KEY = DOC_DATE
BOOKMARK = "replication_key_value"
FOUND_MARK = "found_mark"
TASKS_SEEN = "tasks_seen"
#: The task-range sweep's ranges still to read, and the found date before which their posts
#: were delivered (key names as written since 0.3.0, kept for compatibility).
TASK_RANGES = "catchup"
TASK_RANGES_FOUND_FROM = "catchup_found_from"
ZONE = "zone"
INDEX_DELAY = "index_delay"
#: The zone as tap versions before it stored it (read once, then replaced by ``zone``).
LEGACY_SEEN = "seen"

Check = Callable[[Any], str | None]


class PartitionState:
    """A typed view over one partition's dict."""

    def __init__(self, raw: MutableMapping[str, Any]) -> None:
        self.raw = raw

    @property
    def bookmark(self) -> str | None:
        """Newest ``doc_date`` delivered by the doc_date sweep (fixed-width format)."""
        return self.raw.get(BOOKMARK)

    @bookmark.setter
    def bookmark(self, value: str) -> None:
        self.raw["replication_key"] = REPLICATION_KEY
        self.raw[BOOKMARK] = value

    @property
    def found_mark(self) -> str | None:
        """Newest ``content.found`` delivered (fixed-width format)."""
        return self.raw.get(FOUND_MARK)

    @found_mark.setter
    def found_mark(self, value: str) -> None:
        self.raw[FOUND_MARK] = value

    @property
    def tasks_seen(self) -> dict[str, str]:
        return dict(self.raw.get(TASKS_SEEN) or {})

    @tasks_seen.setter
    def tasks_seen(self, value: Mapping[str, str]) -> None:
        self.raw[TASKS_SEEN] = dict(sorted(value.items()))

    @property
    def task_ranges(self) -> list[Window]:
        """Task ranges still to be read from an earlier (interrupted) plan."""
        windows = []
        for start, end in self.raw.get(TASK_RANGES) or []:
            start_at, end_at = parse_timestamp(start), parse_timestamp(end)
            if start_at is not None and end_at is not None:
                windows.append(Window(start_at, end_at))
        return windows

    @task_ranges.setter
    def task_ranges(self, windows: list[Window]) -> None:
        pairs = [[format_timestamp(w.start), format_timestamp(w.end)] for w in windows if w.end]
        if pairs:
            self.raw[TASK_RANGES] = pairs
        else:
            self.raw.pop(TASK_RANGES, None)

    @property
    def task_ranges_found_from(self) -> str | None:
        """Posts of the task ranges found before this were delivered by earlier syncs."""
        return self.raw.get(TASK_RANGES_FOUND_FROM)

    @task_ranges_found_from.setter
    def task_ranges_found_from(self, value: str | None) -> None:
        if value is None:
            self.raw.pop(TASK_RANGES_FOUND_FROM, None)
        else:
            self.raw[TASK_RANGES_FOUND_FROM] = value

    @property
    def zone(self) -> list[list[int | str]] | None:
        """The stored boundary zone (boundary.py), the legacy ``seen`` converted."""
        stored = self.raw.get(ZONE)
        return load_legacy(self.raw.get(LEGACY_SEEN)) if stored is None else stored

    @zone.setter
    def zone(self, groups: list[list[int | str]]) -> None:
        self.raw[ZONE] = groups
        self.raw.pop(LEGACY_SEEN, None)

    @property
    def index_delay(self) -> dict[str, Any] | None:
        """The measured index delay and its reference (index_delay.py)."""
        return self.raw.get(INDEX_DELAY)

    @index_delay.setter
    def index_delay(self, value: dict[str, Any] | None) -> None:
        if value:
            self.raw[INDEX_DELAY] = value
        else:
            self.raw.pop(INDEX_DELAY, None)

    @staticmethod
    def problem(part: Mapping[str, Any]) -> tuple[str, str] | None:
        """The first key of a partition whose value this tap cannot use, and why."""
        for key, check in CHECKS.items():
            if part.get(key) is None:
                continue  # absent (or null): nothing stored yet
            problem = check(part[key])
            if problem:
                return key, problem
        return None


def _timestamp(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a date-time string, got {type(value).__name__}"
    try:
        parse_timestamp(value)
    except ValueError:
        return f"is not a readable date-time: {value[:40]!r}"
    return None


def _task_ranges(value: Any) -> str | None:
    if not isinstance(value, list):
        return f"must be a list of [start, end] pairs, got {type(value).__name__}"
    for pair in value:
        if not isinstance(pair, list) or len(pair) != 2:
            return "must be a list of [start, end] pairs"
        for moment in pair:
            problem = _timestamp(moment) if moment is not None else "holds a null date"
            if problem:
                return problem
    return None


def _tasks_seen(value: Any) -> str | None:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return "must be an object of task id → updated_at strings"
    return None


def _seen(value: Any) -> str | None:
    if not isinstance(value, dict) or not all(
        isinstance(v, list)
        and len(v) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in v)
        for v in value.values()
    ):
        return "must be an object of id hash → [doc_date, found] epoch seconds"
    return None


def _zone(value: Any) -> str | None:
    shape = "must be a list of [doc_date end, found end, base64 id hashes] groups"
    if not isinstance(value, list):
        return shape
    for group in value:
        if not (
            isinstance(group, list)
            and len(group) == 3
            and all(isinstance(n, int) and not isinstance(n, bool) for n in group[:2])
            and isinstance(group[2], str)
        ):
            return shape
        try:
            raw = base64.b64decode(group[2], validate=True)
        except (binascii.Error, ValueError):
            return f"{shape}: {group[2][:20]!r}… is not base64"
        if len(raw) % DIGEST:
            return f"{shape}: a group's hashes are not whole {DIGEST}-byte digests"
    return None


def _string(value: Any) -> str | None:
    return None if isinstance(value, str) else "must be a string"


#: Every key a partition may hold and its check; unknown keys pass through.
CHECKS: dict[str, Check] = {
    "replication_key": _string,
    BOOKMARK: _timestamp,
    "starting_replication_value": _timestamp,
    TASK_RANGES: _task_ranges,
    TASKS_SEEN: _tasks_seen,
    TASK_RANGES_FOUND_FROM: _timestamp,
    FOUND_MARK: _timestamp,
    LEGACY_SEEN: _seen,
    ZONE: _zone,
    INDEX_DELAY: index_delay.check,
}
