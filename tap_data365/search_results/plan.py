"""What one sync of one sub-source reads, in order: a plan made from the state, changing nothing.

The sweeps, in reading order (the discovery sweep first, so the found mark only moves past
posts of the older doc_dates once they have been swept):

- ``discovery``: ``content.found >= found mark - discovery lookback`` over ``doc_date`` in
  [floor, bookmark) — posts collected late and posts indexed out of order;
- ``task ranges`` (the fallback, when the server does not filter on ``content.found``): the
  date ranges of tasks finished since they were last seen, emitting only posts found since
  ``catchup_found_from``;
- ``doc_date``: ``doc_date >= bookmark`` (``- lookback`` when there is no discovery sweep:
  the doc_date lookback is then the only guard for posts indexed out of order).

What the plan records in the state (the tasks seen, the task ranges still to read, their
filter) is written when the sync adopts it (``SourceCheckpoint.adopt``), not while planning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tap_data365.normalize import format_timestamp, is_done, parse_timestamp
from tap_data365.search_results.ranges import FOUND, Window, merge_ranges
from tap_data365.search_results.state import PartitionState

#: Task dates carry no time zone; widen a task's range so no zone reading loses a post.
TASK_RANGE_MARGIN = dt.timedelta(days=1)


@dataclass(frozen=True)
class Lookbacks:
    #: Before the bookmark, for posts indexed out of order (when no discovery sweep runs).
    doc_date: dt.timedelta
    #: Before the found mark, for the index delay after ``content.found``.
    discovery: dt.timedelta


@dataclass(frozen=True)
class Sweep:
    """One pass of a sync: its windows, read in order, each query also bounded by ``also``."""

    name: str
    windows: tuple[Window, ...]
    also: Window | None = None
    #: The fallback's task ranges: only posts found since ``catchup_found_from`` are emitted.
    catchup: bool = False


@dataclass(frozen=True)
class Plan:
    """One sync of one source: found sweep, task ranges, doc_date sweep."""

    #: Window on ``content.found``, read within ``found_doc_range`` (None: no found sweep).
    found_sweep: Window | None
    found_doc_range: Window | None
    catchup: list[Window]
    main: Window | None
    #: What adopting the plan records in the state (not part of what is read).
    tasks_seen: Mapping[str, str] = field(default_factory=dict, compare=False)
    catchup_found_from: str | None = field(default=None, compare=False)

    def sweeps(self) -> list[Sweep]:
        """The named sweeps, in reading order."""
        sweeps = []
        if self.found_sweep is not None:
            sweeps.append(Sweep("discovery", (self.found_sweep,), self.found_doc_range))
        if self.catchup:
            sweeps.append(Sweep("task ranges", tuple(self.catchup), catchup=True))
        if self.main is not None:
            sweeps.append(Sweep("doc_date", (self.main,)))
        return sweeps


def plan_sync(
    state: PartitionState,
    tasks: Iterable[Mapping[str, Any]],
    lookbacks: Lookbacks,
    *,
    start: dt.datetime | None,
    floor: dt.datetime,
    end: dt.datetime | None,
    found_filter: bool,
) -> Plan:
    """The windows to read. ``start``: the later of the bookmark and ``start_date`` (None:
    nothing yet); ``floor``: where reading starts when there is neither; ``end``:
    ``end_date``; ``found_filter``: the server was just verified to filter on content.found."""
    bookmark, mark = parse_timestamp(state.bookmark), parse_timestamp(state.found_mark)
    pending, found_from = state.catchup, state.catchup_found_from
    # A catch-up left without its filter (state of an older version) is read as it was.
    use_found = found_filter and bookmark is not None and mark is not None
    use_found = use_found and not (pending and found_from is None)
    main_start = floor if start is None else start
    if bookmark is not None and not use_found:
        main_start = max(main_start - lookbacks.doc_date, floor)
    split = main_start if end is None else min(main_start, end)
    found_sweep = found_doc_range = None
    if use_found:
        assert mark is not None  # use_found
        sweep_from = mark - lookbacks.discovery
        if pending:
            # An interrupted fallback's ranges: the found sweep covers what they would
            # still emit (posts found since their filter), so the sweeps never overlap.
            sweep_from = min(sweep_from, parse_timestamp(found_from) or sweep_from)
            pending, found_from = [], None
        if floor < split:
            found_sweep, found_doc_range = Window(sweep_from, None, FOUND), Window(floor, split)
    read_ranges = not use_found and bookmark is not None
    tasks_seen, ranges = _finished_tasks(tasks, state.tasks_seen, (floor, split), read_ranges)
    catchup = merge_ranges([(w.start, w.end) for w in pending] + ranges)
    if catchup and found_from is None and mark is not None:
        # Posts found before this were delivered by earlier syncs: fixed for the plan, so a
        # resumed catch-up filters exactly as the interrupted one did.
        found_from = format_timestamp(mark - lookbacks.discovery)
    main = Window(main_start, end) if end is None or main_start < end else None
    return Plan(found_sweep, found_doc_range, catchup, main, tasks_seen, found_from)


def _finished_tasks(
    tasks: Iterable[Mapping[str, Any]],
    seen: Mapping[str, str],
    bounds: tuple[dt.datetime, dt.datetime],
    read_ranges: bool,
) -> tuple[dict[str, str], list[tuple[dt.datetime, dt.datetime | None]]]:
    """The finished tasks (id → last update) and the date ranges of those finished since they
    were last seen, within ``bounds`` (only the part before the doc_date sweep)."""
    now_seen: dict[str, str] = {}
    ranges: list[tuple[dt.datetime, dt.datetime | None]] = []
    for task in tasks:
        task_id = task.get("id")
        if not task_id or not is_done(str(task.get("status", ""))):
            continue
        fingerprint = str(task.get("updated_at") or "")
        now_seen[str(task_id)] = fingerprint
        if not read_ranges or seen.get(str(task_id)) == fingerprint:
            continue
        task_range = _task_range(task)
        if task_range is not None:
            start, end = max(task_range[0], bounds[0]), min(task_range[1], bounds[1])
            if start < end:
                ranges.append((start, end))
    return now_seen, ranges


def _task_range(task: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime] | None:
    try:
        first = parse_timestamp(task.get("from_date"))
        last = parse_timestamp(task.get("to_date"))
    except ValueError:
        return None
    if first is None or last is None:
        return None
    return first - TASK_RANGE_MARGIN, last + dt.timedelta(days=1) + TASK_RANGE_MARGIN
