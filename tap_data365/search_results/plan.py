"""What one sync of one sub-source reads, in order: a plan made from the state, changing nothing.

The sweeps, in reading order (the discovery sweep first, so the found mark only moves past
posts of the older doc_dates once they have been swept):

- the discovery sweep: ``content.found >= found mark - discovery lookback`` over ``doc_date``
  in [floor, bookmark) — posts collected late and posts indexed out of order;
- the task-range sweep (when the server does not filter on ``content.found``): the date
  ranges of tasks finished since they were last seen, emitting only posts found since
  ``task_ranges_found_from``;
- the doc_date sweep: ``doc_date >= bookmark`` (``- lookback`` without a discovery sweep: the
  doc_date lookback is then the only guard for posts indexed out of order).

The plan is pure so that what it records in the state (the tasks seen, the task ranges still
to read, their filter) is written in one step when the sync adopts it (``SourceCheckpoint.adopt``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tap_data365.normalize import format_timestamp, is_done, parse_timestamp
from tap_data365.search_results.ranges import FOUND, Window, merge_ranges, whole_ms
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
    """One pass of a sync: its windows, read in order, each query ANDed with ``fixed_range``."""

    #: "discovery", "task-range" or "doc_date", as the log lines name the sweep.
    name: str
    windows: tuple[Window, ...]
    fixed_range: Window | None = None
    #: The task-range sweep: only posts found since ``task_ranges_found_from`` are emitted.
    task_range: bool = False


@dataclass(frozen=True)
class SyncPlan:
    """The windows of one sync of one sub-source: discovery, task-range and doc_date sweeps."""

    #: Window on ``content.found``, read within ``discovery_doc_range`` (None: no discovery).
    discovery: Window | None
    discovery_doc_range: Window | None
    task_ranges: list[Window]
    doc_date: Window | None
    #: What adopting the plan records in the state (not part of what is read).
    tasks_seen: Mapping[str, str] = field(default_factory=dict, compare=False)
    task_ranges_found_from: str | None = field(default=None, compare=False)

    def sweeps(self) -> list[Sweep]:
        """The named sweeps, in reading order."""
        sweeps = []
        if self.discovery is not None:
            sweeps.append(Sweep("discovery", (self.discovery,), self.discovery_doc_range))
        if self.task_ranges:
            sweeps.append(Sweep("task-range", tuple(self.task_ranges), task_range=True))
        if self.doc_date is not None:
            sweeps.append(Sweep("doc_date", (self.doc_date,)))
        return sweeps


def plan_sync(
    state: PartitionState,
    tasks: Iterable[Mapping[str, Any]],
    lookbacks: Lookbacks,
    *,
    start: dt.datetime | None,
    floor: dt.datetime,
    end: dt.datetime | None = None,
    found_filter: bool = True,
) -> SyncPlan:
    """The windows to read. ``start``: the later of the bookmark and ``start_date`` (None:
    nothing yet); ``floor``: where reading starts when there is neither; ``end``:
    ``end_date``; ``found_filter``: the server was just verified to filter on content.found.

    Every bound is a whole millisecond (``ranges.whole_ms``), as the server reads it: a
    bookmark at .827400 starts the doc_date sweep at .827 (the boundary zone skips the posts
    of that millisecond read again) and ends the discovery sweep's doc_date range there."""
    bookmark, mark = _whole_ms(state.bookmark), _whole_ms(state.found_mark)
    start, floor = None if start is None else whole_ms(start), whole_ms(floor)
    end = None if end is None else whole_ms(end)
    pending, found_from = state.task_ranges, state.task_ranges_found_from
    # Task ranges left without their filter (state of an older version) are read as they were.
    discover = found_filter and bookmark is not None and mark is not None
    discover = discover and not (pending and found_from is None)
    doc_start = floor if start is None else start
    if bookmark is not None and not discover:
        doc_start = max(whole_ms(doc_start - lookbacks.doc_date), floor)
    split = doc_start if end is None else min(doc_start, end)
    discovery = discovery_doc_range = None
    if discover:
        assert mark is not None  # discover
        sweep_from = whole_ms(mark - lookbacks.discovery)
        if pending:
            # An interrupted task-range sweep: the discovery sweep covers what it would still
            # emit (posts found since its filter), so the sweeps never overlap.
            sweep_from = min(sweep_from, _whole_ms(found_from) or sweep_from)
            pending, found_from = [], None
        if floor < split:
            discovery, discovery_doc_range = Window(sweep_from, None, FOUND), Window(floor, split)
    read_ranges = not discover and bookmark is not None
    tasks_seen, ranges = _finished_tasks(tasks, state.tasks_seen, (floor, split), read_ranges)
    task_ranges = merge_ranges([(w.start, w.end) for w in pending] + ranges)
    if task_ranges and found_from is None and mark is not None:
        # Posts found before this were delivered by earlier syncs: fixed for the plan, so a
        # resumed task-range sweep filters exactly as the interrupted one did.
        found_from = format_timestamp(whole_ms(mark - lookbacks.discovery))
    doc_date = Window(doc_start, end) if end is None or doc_start < end else None
    return SyncPlan(discovery, discovery_doc_range, task_ranges, doc_date, tasks_seen, found_from)


def first_sweep(
    state: PartitionState,
    lookbacks: Lookbacks,
    *,
    start: dt.datetime | None,
    floor: dt.datetime,
    end: dt.datetime | None = None,
) -> Sweep | None:
    """The sweep a sync reads first when the tasks cannot change it (else None): on a first
    sync (no bookmark) no task range is read and there is no discovery sweep, so the plan's
    windows are those of ``plan_sync`` whatever the task list and the found filter hold."""
    if state.bookmark is not None:
        return None
    plan = plan_sync(state, (), lookbacks, start=start, floor=floor, end=end, found_filter=False)
    sweeps = plan.sweeps()
    return sweeps[0] if sweeps else None


def _whole_ms(stored: str | None) -> dt.datetime | None:
    moment = parse_timestamp(stored)
    return None if moment is None else whole_ms(moment)


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
