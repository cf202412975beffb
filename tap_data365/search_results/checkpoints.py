"""Per-source search checkpoints: what is already delivered, and the marks that move.

A source's state partition (state.py) holds, besides the doc_date bookmark B (newest
``doc_date`` delivered by the doc_date sweep):

- ``found_mark`` (F): the newest ``content.found`` (discovery date) of any post delivered.
  The next sync sweeps ``content.found >= F - discovery lookback`` over ``doc_date < B``,
  which is where posts collected late (task re-runs, posts without a task) and posts indexed
  out of order land; its doc_date sweep then starts at B. Without a discovery sweep the
  doc_date sweep starts at ``B - lookback`` instead: the doc_date lookback is then the only
  guard for posts indexed out of order (plan.py).
- ``zone``: the boundary zone (boundary.py): delivered posts with ``doc_date >= B -
  lookback`` or ``found >= F - discovery lookback`` — everything the next sync may read
  again, whichever sweeps it runs — so a re-read post is skipped, not re-emitted.
- ``tasks_seen``: ``{task id: updated_at}`` of finished tasks whose posts are covered, for
  the task-range sweep when the server cannot filter on ``content.found``: a task finished
  since is read again over its date range, emitting only posts found since a fixed date.
- ``catchup``/``catchup_found_from`` (names kept from 0.3.0): those task ranges still to
  read and that date (a killed sync resumes them).
- ``index_delay``: how far behind the found mark posts became searchable, as measured
  (index_delay.py); while it passes half of ``discovery_lookback``, the discovery sweep and
  the zone reach back twice (the zone four times) the delay instead.

Bookmarks move only when a window has been read to its end, and a STATE follows every window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

from tap_data365.normalize import format_timestamp, parse_timestamp
from tap_data365.search_results.boundary import BoundaryZone, Bounds
from tap_data365.search_results.index_delay import IndexDelay
from tap_data365.search_results.plan import Lookbacks, SyncPlan
from tap_data365.search_results.ranges import DOC_DATE, Post, Window, whole_ms
from tap_data365.search_results.state import PartitionState
from tap_data365.search_results.windows import CompletedWindow

#: Posts per checkpoint chunk of a completed window (a STATE follows each chunk).
CHECKPOINT_POSTS = 2_000
#: ``2024-01-01T00:00:00.000``: the part of a fixed-width date the server reads.
MS_PREFIX = 23


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
    """One source's sync against its state partition (the SDK writes the dict out as STATE)."""

    def __init__(
        self,
        state: MutableMapping[str, Any],
        *,
        lookback: dt.timedelta,
        now: dt.datetime,
        discovery_lookback: dt.timedelta | None = None,
        zone_limit: int,
    ) -> None:
        self.state = PartitionState(state)
        discovery = lookback if discovery_lookback is None else discovery_lookback
        #: The setting; the sweep reads further back while the index lags (index_delay.py).
        self.configured_discovery = discovery
        self.delay = IndexDelay(self.state.index_delay)
        widened = self.delay.lookback(discovery, self.state.found_mark)
        self.lookbacks = Lookbacks(doc_date=lookback, discovery=widened)
        self._now = whole_ms(now)  # the found mark's cap: a bound of the next discovery sweep
        self._read_all = False  # set by adopt: this sync reads every searchable post
        self.zone = BoundaryZone(self.state.zone, self._zone_bounds(widened), zone_limit)
        self.counts = Counts()
        self._newest_doc: str | None = None
        self._newest_found: str | None = None
        self._task_ranges_found: str | None = None

    def wants_discovery_sweep(self) -> bool:
        """A discovery sweep needs both marks from an earlier sync (else the first reads all)."""
        return self.state.bookmark is not None and self.state.found_mark is not None

    def adopt(self, plan: SyncPlan) -> None:
        """Record the plan's task part in the state, before anything is read."""
        self.state.tasks_seen = plan.tasks_seen
        self.state.task_ranges = plan.task_ranges
        self.state.task_ranges_found_from = plan.task_ranges_found_from
        # Every post searchable now is read (discovery sweep or the first full read; not a
        # fallback, not a run bounded by end_date): its found mark can be a reference.
        first_read = self.state.bookmark is None and not plan.task_ranges
        open_ended = plan.doc_date is not None and plan.doc_date.end is None
        self._read_all = open_ended and (plan.discovery is not None or first_read)

    # ------------------------------------------------------------------ delivering

    def accept(self, post: Post, *, task_range: bool) -> bool:
        """True when the post is to be emitted: not delivered before (as far as known)."""
        doc, found = post.doc_date, post.found
        if doc is not None and (self._newest_doc is None or doc > self._newest_doc):
            self._newest_doc = doc
        if found is not None and (self._newest_found is None or found > self._newest_found):
            self._newest_found = found
        doc_id, dates = post.id, (doc, found)
        if self.zone.seen(doc_id, dates):
            self.counts.skipped_seen += 1
            return False
        if task_range and found is not None:
            found_from = self.state.task_ranges_found_from
            if found_from is not None and found < found_from:
                self.counts.skipped_old += 1  # found before the last sync: delivered then
                return False
        self.zone.add(doc_id, dates)
        self.counts.emitted += 1
        self.delay.observe(found)
        return True

    def window_done(self, window: Window, *, task_range: bool) -> None:
        """Record a window read to its end (call after its posts went through ``accept``)."""
        newest_doc, self._newest_doc = self._newest_doc, None
        newest_found, self._newest_found = self._newest_found, None
        if task_range:
            self.state.task_ranges = _subtract(self.state.task_ranges, window)
            # The found mark waits for every task range: while one is pending, the zone must
            # keep what they delivered (found since their filter), in case another sync resumes.
            if newest_found is not None and (
                self._task_ranges_found is None or newest_found > self._task_ranges_found
            ):
                self._task_ranges_found = newest_found
            newest_found = None
            if not self.state.task_ranges:
                self.state.task_ranges_found_from = None
                newest_found, self._task_ranges_found = self._task_ranges_found, None
        elif window.field == DOC_DATE:
            current = self.state.bookmark
            if newest_doc is not None and (current is None or newest_doc > current):
                self.state.bookmark = newest_doc
        if newest_found is not None:
            # A discovery date in the future (a wrong clock) must not push the mark ahead.
            capped = min(newest_found, format_timestamp(self._now))
            current_found = self.state.found_mark
            if current_found is None or capped > current_found:
                self.state.found_mark = capped
        self._store_zone()

    def finish(self) -> None:
        """Every sweep of the sync is done: keep only what the next sync reads again."""
        mark = self.state.found_mark
        self.state.index_delay = self.delay.finish(mark, read_all=self._read_all)
        self._store_zone(final=True)

    def widened(self) -> tuple[float, dt.timedelta] | None:
        """After ``finish``: (the delay in force, seconds; how far back the next sync's
        discovery sweep reads) when that is beyond ``discovery_lookback``, else None."""
        mark = self.state.found_mark
        lookback = self.delay.lookback(self.configured_discovery, mark)
        if lookback <= self.configured_discovery:
            return None
        return self.delay.estimate(mark), lookback

    def _zone_bounds(self, discovery: dt.timedelta) -> Bounds:
        """Where the next sync's sweeps start re-reading (None: no marks yet), its discovery
        sweep reading ``discovery`` back."""
        bookmark = parse_timestamp(self.state.bookmark)
        mark = parse_timestamp(self.state.found_mark)
        if bookmark is None or mark is None:
            return None
        # The doc_date bound is the one without a discovery sweep: the next sync may run none.
        # Whole milliseconds, as plan.py reads from: the posts of a bound's millisecond are
        # read again, so they stay in the zone.
        return (
            format_timestamp(whole_ms(bookmark - self.lookbacks.doc_date)),
            format_timestamp(whole_ms(mark - discovery)),
        )

    def _store_zone(self, *, final: bool = False) -> None:
        mark = self.state.found_mark
        reach = self.delay.zone_reach(self.configured_discovery, mark, final=final)
        self.state.zone = self.zone.store(self._zone_bounds(reach), final=final)
        self.counts.zone_overflow = self.zone.overflow


def _subtract(windows: list[Window], done: Window) -> list[Window]:
    remaining: list[Window] = []
    for window in windows:
        if window.end is None or done.end is None:
            continue  # task ranges are always closed
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
) -> Iterator[tuple[Window, list[Post]]]:
    """The window's posts sorted by its field, in chunks of about ``size`` cut where the value
    changes, each with the part of the window it completes (a chunk's window ends where the
    next chunk's first value begins; the last one ends with the window)."""
    field = completed.window.field

    # Sorted by every post's date: the date read without a method call per post.
    if field == DOC_DATE:

        def key(post: Post) -> str:
            return post.doc_date or ""
    else:

        def key(post: Post) -> str:
            return post.found or ""

    def millisecond(post: Post) -> str:
        return key(post)[:MS_PREFIX]

    ordered = sorted(completed.posts, key=key)
    start = completed.window.start
    begin = 0
    while begin < len(ordered):
        stop = min(begin + size, len(ordered))
        while stop < len(ordered) and millisecond(ordered[stop]) == millisecond(ordered[stop - 1]):
            stop += 1  # posts sharing a millisecond (a value, as the server reads) stay together
        end = completed.window.end
        if stop < len(ordered):
            end = parse_timestamp(key(ordered[stop])) or end
        yield Window(start, end, field), ordered[begin:stop]
        if end is not None:
            start = end
        begin = stop
    if not ordered:
        yield completed.window, []
