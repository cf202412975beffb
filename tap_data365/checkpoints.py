"""Per-source search checkpoints: what to read this sync, and what is already delivered.

A source's state partition holds, besides the SDK's ``replication_key``/``replication_key_value``:

- ``tasks_seen``: ``{task id: updated_at}`` of the finished tasks whose posts are covered.
  A task that finishes after a sync (or finishes again) is not in it, so its date range is
  read again even though it lies before the bookmark. Only tasks the API still lists are
  kept, so it never grows past the account's own task list.
- ``catchup``: date ranges of such tasks still to be read, present only while a sync that
  started reading them has not finished them (so a killed sync resumes them).

The bookmark is only moved when a window has been read to its end, so a killed sync that
is re-run with its last STATE re-reads at most the window it was in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from tap_data365.normalize import format_timestamp, is_done, parse_timestamp
from tap_data365.windows import Window, merge_ranges

REPLICATION_KEY = "doc_date"
TASKS_SEEN = "tasks_seen"
CATCHUP = "catchup"
#: Task dates carry no time zone; widen a task's range so no zone reading loses a post.
TASK_RANGE_MARGIN = dt.timedelta(days=1)


class SourceCheckpoint:
    """A view over one source's state partition (the SDK writes the dict out as STATE)."""

    def __init__(self, state: MutableMapping[str, Any]) -> None:
        self._state = state

    @property
    def bookmark(self) -> dt.datetime | None:
        """Newest ``doc_date`` delivered by a completed window of the main sweep."""
        return parse_timestamp(self._state.get("replication_key_value"))

    def plan(
        self,
        tasks: Iterable[Mapping[str, Any]],
        *,
        start: dt.datetime | None,
        lookback: dt.timedelta,
        floor: dt.datetime,
    ) -> list[Window]:
        """The windows to read this sync, oldest first; records the plan in the state.

        ``start`` is the later of the bookmark and ``start_date`` (None: nothing yet);
        ``floor`` is where reading starts when there is neither.
        """
        lower_bound = floor if start is None else start
        bookmark = self.bookmark
        main_start = max(lower_bound - lookback, floor) if bookmark is not None else lower_bound
        pending = [(w.start, w.end) for w in self.catchup]
        seen: dict[str, str] = dict(self._state.get(TASKS_SEEN) or {})
        now_seen: dict[str, str] = {}
        for task in tasks:
            task_id = task.get("id")
            if not task_id or not is_done(str(task.get("status", ""))):
                continue
            fingerprint = str(task.get("updated_at") or "")
            now_seen[str(task_id)] = fingerprint
            if seen.get(str(task_id)) == fingerprint or bookmark is None:
                continue
            task_range = _task_range(task)
            if task_range is None:
                continue
            # Only the part before the main sweep needs a separate read.
            range_start = max(task_range[0], floor)
            range_end = min(task_range[1], main_start)
            if range_start < range_end:
                pending.append((range_start, range_end))
        catchup = merge_ranges(pending)
        self._state[TASKS_SEEN] = dict(sorted(now_seen.items()))
        self._set_catchup(catchup)
        return [*catchup, Window(main_start, None)]

    @property
    def catchup(self) -> list[Window]:
        """Task ranges still to be read from an earlier (interrupted) plan."""
        windows = []
        for start, end in self._state.get(CATCHUP) or []:
            start_at, end_at = parse_timestamp(start), parse_timestamp(end)
            if start_at is not None and end_at is not None:
                windows.append(Window(start_at, end_at))
        return windows

    def window_done(self, window: Window, newest: str | None) -> None:
        """Record a window read to its end; ``newest`` is its newest ``doc_date``."""
        if window.end is not None and any(
            w.end is not None and w.start <= window.start < w.end for w in self.catchup
        ):
            self._set_catchup(_subtract(self.catchup, window))
            return
        current = self._state.get("replication_key_value")
        if newest is not None and (current is None or newest > current):
            self._state["replication_key"] = REPLICATION_KEY
            self._state["replication_key_value"] = newest

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
