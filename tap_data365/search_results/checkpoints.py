"""Per-source search checkpoints: what to read this sync, and what is already delivered.

A source's state partition holds, besides the SDK's ``replication_key``/``replication_key_value``
(the doc_date bookmark B, newest ``doc_date`` delivered by the doc_date sweep):

- ``found_mark`` (F): the newest ``content.found`` (discovery date) of any post delivered.
  The next sync sweeps ``content.found >= F - discovery lookback`` over ``doc_date < B``,
  which is where posts collected late (task re-runs, posts without a task) and posts indexed
  out of order land; its ``doc_date`` sweep then starts at B. Without a discovery sweep (the
  fallback) the ``doc_date`` sweep starts at ``B - lookback`` instead: the doc_date lookback
  is then the only guard for posts indexed out of order.
- ``zone``: the boundary zone (boundary.py): delivered posts with ``doc_date >= B -
  lookback`` or ``found >= F - discovery lookback`` — everything the next sync may read
  again, whichever sweeps it runs — so a re-read post is skipped, not re-emitted.
- ``tasks_seen``: ``{task id: updated_at}`` of finished tasks whose posts are covered, for
  the fallback when the server cannot filter on ``content.found``: a task finished since is
  read again over its date range, emitting only posts found since ``catchup_found_from``.
- ``catchup``/``catchup_found_from``: those ranges still to read (a killed sync resumes them).

Bookmarks move only when a window has been read to its end, and a STATE follows every window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from tap_data365.normalize import format_timestamp, is_done, parse_timestamp
from tap_data365.search_results.boundary import (
    DEFAULT_MAX_POSTS,
    BoundaryZone,
    Bounds,
    load_legacy,
)
from tap_data365.search_results.ranges import (
    DOC_DATE,
    FOUND,
    Record,
    Window,
    merge_ranges,
    record_date,
)
from tap_data365.search_results.windows import CompletedWindow

REPLICATION_KEY = DOC_DATE
#: Posts per checkpoint chunk of a completed window (a STATE follows each chunk).
CHECKPOINT_POSTS = 2_000
TASKS_SEEN = "tasks_seen"
CATCHUP = "catchup"
CATCHUP_FOUND_FROM = "catchup_found_from"
FOUND_MARK = "found_mark"
ZONE = "zone"
#: The zone as tap versions before 0.3 stored it (read once, then replaced by ``zone``).
LEGACY_SEEN = "seen"
#: Task dates carry no time zone; widen a task's range so no zone reading loses a post.
TASK_RANGE_MARGIN = dt.timedelta(days=1)


@dataclass(frozen=True)
class Plan:
    """One sync of one source, in reading order: found sweep, task ranges, doc_date sweep."""

    #: Window on ``content.found``, read within ``found_doc_range`` (None: no found sweep).
    found_sweep: Window | None
    found_doc_range: Window | None
    catchup: list[Window]
    main: Window | None


@dataclass
class Counts:
    """What a sync did with the posts it read (for the log line and the benchmark)."""

    emitted: int = 0
    skipped_seen: int = 0
    skipped_old: int = 0
    #: Boundary-zone posts beyond its ceiling at the end of the sync (forgotten: re-emitted
    #: if read again).
    zone_overflow: int = 0


class SourceCheckpoint:
    """A view over one source's state partition (the SDK writes the dict out as STATE)."""

    def __init__(
        self,
        state: MutableMapping[str, Any],
        *,
        lookback: dt.timedelta,
        now: dt.datetime,
        discovery_lookback: dt.timedelta | None = None,
        zone_limit: int = DEFAULT_MAX_POSTS,
    ) -> None:
        self._state = state
        #: Before the bookmark, for posts indexed out of order (when no discovery sweep runs).
        self._lookback = lookback
        #: Before the found mark, for the index delay after ``content.found``.
        self._discovery_lookback = lookback if discovery_lookback is None else discovery_lookback
        self._now = now
        stored = state.get(ZONE)
        if stored is None:
            stored = load_legacy(state.get(LEGACY_SEEN))
        self.zone = BoundaryZone(stored, self._zone_bounds(), zone_limit)
        self.counts = Counts()
        self._newest_doc: str | None = None
        self._newest_found: str | None = None
        self._catchup_found: str | None = None

    @property
    def bookmark(self) -> dt.datetime | None:
        """Newest ``doc_date`` delivered by a completed window of the doc_date sweep."""
        return parse_timestamp(self._state.get("replication_key_value"))

    @property
    def found_mark(self) -> dt.datetime | None:
        return parse_timestamp(self._state.get(FOUND_MARK))

    def wants_found_sweep(self) -> bool:
        """A found sweep needs both marks from an earlier sync (else the first sync reads all)."""
        return self.bookmark is not None and self.found_mark is not None

    # ------------------------------------------------------------------ planning

    def plan(
        self,
        tasks: Iterable[Mapping[str, Any]],
        *,
        start: dt.datetime | None,
        floor: dt.datetime,
        end: dt.datetime | None = None,
        found_filter: bool = True,
    ) -> Plan:
        """The windows to read this sync; records the task part of the plan in the state.

        ``start`` is the later of the bookmark and ``start_date`` (None: nothing yet);
        ``floor`` is where reading starts when there is neither; ``end`` is ``end_date``;
        ``found_filter``: the server was just verified to filter on ``content.found``.
        """
        lower_bound = floor if start is None else start
        found_sweep = found_doc_range = None
        found_from = self._state.get(CATCHUP_FOUND_FROM)
        # A catch-up left without its filter (state of an older version) is read as it was.
        use_found = found_filter and self.wants_found_sweep()
        use_found = use_found and not (self.catchup and found_from is None)
        main_start = lower_bound
        if self.bookmark is not None and not use_found:
            # Without a discovery sweep, posts indexed out of order (dated before the
            # bookmark, searchable after it moved) are only caught by re-reading before it.
            main_start = max(lower_bound - self._lookback, floor)
        split = main_start if end is None else min(main_start, end)
        if use_found:
            mark = self.found_mark
            assert mark is not None  # wants_found_sweep
            sweep_from = mark - self._discovery_lookback
            if self.catchup:
                # An interrupted fallback's ranges: the found sweep covers what they would
                # still emit (posts found since their filter), so the sweeps never overlap.
                sweep_from = min(sweep_from, parse_timestamp(found_from) or sweep_from)
                self._set_catchup([])
                self._state.pop(CATCHUP_FOUND_FROM, None)
            if floor < split:
                found_sweep = Window(sweep_from, None, FOUND)
                found_doc_range = Window(floor, split)
        catchup = self._plan_catchup(tasks, floor, split, read_ranges=not use_found)
        main = Window(main_start, end) if end is None or main_start < end else None
        return Plan(found_sweep, found_doc_range, catchup, main)

    def _plan_catchup(
        self,
        tasks: Iterable[Mapping[str, Any]],
        floor: dt.datetime,
        split: dt.datetime,
        *,
        read_ranges: bool,
    ) -> list[Window]:
        """Date ranges of tasks finished since they were last seen (the fallback path)."""
        pending = [(w.start, w.end) for w in self.catchup]
        seen: dict[str, str] = dict(self._state.get(TASKS_SEEN) or {})
        now_seen: dict[str, str] = {}
        for task in tasks:
            task_id = task.get("id")
            if not task_id or not is_done(str(task.get("status", ""))):
                continue
            fingerprint = str(task.get("updated_at") or "")
            now_seen[str(task_id)] = fingerprint
            if not read_ranges or seen.get(str(task_id)) == fingerprint or self.bookmark is None:
                continue
            task_range = _task_range(task)
            if task_range is not None:
                # Only the part before the doc_date sweep needs a separate read.
                range_start, range_end = max(task_range[0], floor), min(task_range[1], split)
                if range_start < range_end:
                    pending.append((range_start, range_end))
        catchup = merge_ranges(pending)
        self._state[TASKS_SEEN] = dict(sorted(now_seen.items()))
        if catchup and self._state.get(CATCHUP_FOUND_FROM) is None:
            # Posts found before this were delivered by earlier syncs: fixed for the plan,
            # so a resumed catch-up filters exactly as the interrupted one did.
            mark = self.found_mark
            if mark is not None:
                self._state[CATCHUP_FOUND_FROM] = format_timestamp(mark - self._discovery_lookback)
        self._set_catchup(catchup)
        return catchup

    @property
    def catchup(self) -> list[Window]:
        """Task ranges still to be read from an earlier (interrupted) plan."""
        windows = []
        for start, end in self._state.get(CATCHUP) or []:
            start_at, end_at = parse_timestamp(start), parse_timestamp(end)
            if start_at is not None and end_at is not None:
                windows.append(Window(start_at, end_at))
        return windows

    # ------------------------------------------------------------------ delivering

    def accept(self, record: Record, *, catchup: bool) -> bool:
        """True when the post is to be emitted: not delivered before (as far as known)."""
        doc = record_date(record, DOC_DATE)
        found = record_date(record, FOUND)
        if doc is not None and (self._newest_doc is None or doc > self._newest_doc):
            self._newest_doc = doc
        if found is not None and (self._newest_found is None or found > self._newest_found):
            self._newest_found = found
        doc_id = str(record.get("id"))
        if self.zone.seen(doc_id, (doc, found)):
            self.counts.skipped_seen += 1
            return False
        if catchup and found is not None:
            found_from = self._state.get(CATCHUP_FOUND_FROM)
            if found_from is not None and found < found_from:
                self.counts.skipped_old += 1  # found before the last sync: delivered then
                return False
        self.zone.add(doc_id, (doc, found))
        self.counts.emitted += 1
        return True

    def window_done(self, window: Window, *, catchup: bool) -> None:
        """Record a window read to its end (call after its posts went through ``accept``)."""
        newest_doc, self._newest_doc = self._newest_doc, None
        newest_found, self._newest_found = self._newest_found, None
        if catchup:
            self._set_catchup(_subtract(self.catchup, window))
            # The found mark waits for the whole catch-up: while it is pending, the zone must
            # keep what it delivered (found since its filter), in case another sync resumes it.
            if newest_found is not None and (
                self._catchup_found is None or newest_found > self._catchup_found
            ):
                self._catchup_found = newest_found
            newest_found = None
            if not self.catchup:
                self._state.pop(CATCHUP_FOUND_FROM, None)
                newest_found, self._catchup_found = self._catchup_found, None
        elif window.field == DOC_DATE:
            current = self._state.get("replication_key_value")
            if newest_doc is not None and (current is None or newest_doc > current):
                self._state["replication_key"] = REPLICATION_KEY
                self._state["replication_key_value"] = newest_doc
        if newest_found is not None:
            # A discovery date in the future (a wrong clock) must not push the mark ahead.
            capped = min(newest_found, format_timestamp(self._now))
            current_found = self._state.get(FOUND_MARK)
            if current_found is None or capped > current_found:
                self._state[FOUND_MARK] = capped
        self._store_seen()

    def finish(self) -> None:
        """Every sweep of the sync is done: keep only what the next sync reads again."""
        self._store_seen(final=True)

    def _zone_bounds(self) -> Bounds:
        """Where the next sync's sweeps start re-reading (None: no marks yet)."""
        bookmark, mark = self.bookmark, self.found_mark
        if bookmark is None or mark is None:
            return None
        # The doc_date bound is the fallback's: the next sync may have to fall back.
        return (
            format_timestamp(bookmark - self._lookback),
            format_timestamp(mark - self._discovery_lookback),
        )

    def _store_seen(self, *, final: bool = False) -> None:
        self._state[ZONE] = self.zone.store(self._zone_bounds(), final=final)
        self._state.pop(LEGACY_SEEN, None)
        self.counts.zone_overflow = self.zone.overflow

    def _set_catchup(self, windows: list[Window]) -> None:
        if windows:
            self._state[CATCHUP] = [
                [format_timestamp(w.start), format_timestamp(w.end)] for w in windows if w.end
            ]
        else:
            self._state.pop(CATCHUP, None)


def _task_range(task: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime] | None:
    try:
        first = parse_timestamp(task.get("from_date"))
        last = parse_timestamp(task.get("to_date"))
    except ValueError:
        return None
    if first is None or last is None:
        return None
    return first - TASK_RANGE_MARGIN, last + dt.timedelta(days=1) + TASK_RANGE_MARGIN


def _subtract(windows: list[Window], done: Window) -> list[Window]:
    remaining: list[Window] = []
    for window in windows:
        if window.end is None or done.end is None:
            continue  # catch-up ranges are always closed
        if done.end <= window.start or done.start >= window.end:
            remaining.append(window)
            continue
        if window.start < done.start:
            remaining.append(Window(window.start, done.start))
        if done.end < window.end:
            remaining.append(Window(done.end, window.end))
    return remaining


def chunks(
    completed: CompletedWindow, size: int = CHECKPOINT_POSTS
) -> Iterator[tuple[Window, list[Record]]]:
    """The window's posts sorted by its field, in chunks of about ``size`` cut where the value
    changes, each with the part of the window it completes (a chunk's window ends where the
    next chunk's first value begins; the last one ends with the window)."""
    field = completed.window.field

    def key(record: Record) -> str:
        return record_date(record, field) or ""

    ordered = sorted(completed.records, key=key)
    start = completed.window.start
    begin = 0
    while begin < len(ordered):
        stop = min(begin + size, len(ordered))
        while stop < len(ordered) and key(ordered[stop]) == key(ordered[stop - 1]):
            stop += 1  # posts sharing a value stay in one chunk
        end = completed.window.end
        if stop < len(ordered):
            end = parse_timestamp(key(ordered[stop])) or end
        yield Window(start, end, field), ordered[begin:stop]
        if end is not None:
            start = end
        begin = stop
    if not ordered:
        yield completed.window, []
