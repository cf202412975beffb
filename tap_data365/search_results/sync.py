"""The package's entry point: one sub-source's sync, wired here from what only the stream has.

Nothing goes back: the plan is adopted (and saved) before anything is read, each completed
window's posts go out sorted in chunks with a STATE after each (no request more), and the
zone is trimmed to what the next sync reads again once every sweep is done.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from tap_data365.errors import parse_answer
from tap_data365.search_results.checkpoints import SourceCheckpoint, chunks
from tap_data365.search_results.first_reads import (
    CountRequest,
    FirstReads,
    SearchRequest,
    in_background,
)
from tap_data365.search_results.found_filter import found_filter_problem
from tap_data365.search_results.hits import HitWarnings, count_total, search_hits, search_post
from tap_data365.search_results.index_delay import minutes
from tap_data365.search_results.plan import Sweep, SyncPlan, first_sweep, plan_sync
from tap_data365.search_results.ranges import Post, Record, combine_query
from tap_data365.search_results.sizing import WindowSizer
from tap_data365.search_results.state import REPLICATION_KEY
from tap_data365.search_results.windows import CompletedWindow, WindowReader, page_pipeline

if TYPE_CHECKING:
    from tap_data365.search_results.inflight import PagePipeline
    from tap_data365.settings import Settings

__all__ = ["REPLICATION_KEY", "CountRequest", "SearchRequest", "SubSourceSync", "in_background"]

#: Where reading starts when neither a bookmark nor start_date says otherwise.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class SubSourceSync:
    """The posts of one sub-source (its search index) to emit, read sweep by sweep.

    ``state``: the partition's dict, which the SDK writes out when ``save_state`` is called;
    ``tasks``: reads the sub-source's task records (asked for once the server's
    ``content.found`` filter is checked); ``start``: the SDK's starting timestamp.
    """

    def __init__(
        self,
        index: str,
        state: MutableMapping[str, Any],
        settings: Settings,
        *,
        tasks: Callable[[], Iterable[Mapping[str, Any]]],
        start: dt.datetime | None,
        search: SearchRequest,
        count: CountRequest,
        save_state: Callable[[], None],
        logger: logging.Logger,
    ) -> None:
        self._index = index
        self._settings = settings
        self._tasks = tasks
        self._start = start
        self._first_reads = FirstReads(search, count)
        self._search = self._first_reads.search
        self._save = save_state
        self._logger = logger
        self._now = dt.datetime.now(dt.UTC)
        self._checkpoint = SourceCheckpoint(
            state,
            lookback=settings.lookback,
            discovery_lookback=settings.discovery_lookback,
            now=self._now,
            zone_limit=settings.boundary_zone_max_posts,
        )
        self._warnings = HitWarnings()
        early_count = self._first_reads.count
        self._sizer = WindowSizer(lambda query: count_total(early_count(query)), logger.warning)

    def records(self) -> Iterator[Record]:
        """The posts to emit, each once; STATE is saved after every checkpoint chunk."""
        self._send_first_reads()
        plan = self._plan()
        self._checkpoint.adopt(plan)
        self._save()  # the plan is durable before any post is emitted
        sweeps = plan.sweeps()
        # One pipeline for all sweeps: the next sweep's first page is asked for while the
        # last window of this one is read and handed out.
        with page_pipeline(
            self._fetch_page, self._settings.page_size, self._settings.api.max_concurrency
        ) as pipeline:
            for sweep, following in zip(sweeps, [*sweeps[1:], None], strict=True):
                yield from self._sweep(sweep, pipeline, following)
        self._checkpoint.finish()
        self._save()
        self._report()

    def _send_first_reads(self) -> None:
        """The first page (and count) of a plan the tasks cannot change, sent now: they go
        out while the task list is read (first_reads.py)."""
        settings = self._settings
        floor = settings.start_date or EPOCH
        lookbacks = self._checkpoint.lookbacks
        sweep = first_sweep(
            self._checkpoint.state, lookbacks, start=self._start, floor=floor, end=settings.end_date
        )
        if sweep is not None:
            query = combine_query(settings.search_query, sweep.windows[0], sweep.fixed_range)
            self._first_reads.send(query, settings.page_size, count=self._sizer.usable)

    def _plan(self) -> SyncPlan:
        checkpoint, settings = self._checkpoint, self._settings
        discovery = checkpoint.wants_discovery_sweep() and self._found_filter_works()
        return plan_sync(
            checkpoint.state,
            self._tasks(),
            checkpoint.lookbacks,
            start=self._start,
            floor=settings.start_date or EPOCH,
            end=settings.end_date,
            found_filter=discovery,
        )

    def _fetch_page(self, query: str, offset: int, size: int) -> list[Post]:
        payload = self._search(query, offset, size)
        hits = parse_answer(search_hits, payload, f"searching {self._index}")
        return [search_post(raw, self._index, self._warnings) for raw in hits]

    def _found_filter_works(self) -> bool:
        """Checked every sync; a server that fails the check gets the task-range sweep."""
        query = self._settings.search_query
        problem = found_filter_problem(self._fetch_page, query, self._now)
        if problem is None:
            return True
        self._logger.warning(
            "search_results: the Datastreamer API does not filter %s on content.found (%s): "
            "posts collected late are found by the task-range sweep instead, which reads "
            "finished tasks' date ranges again whole (only posts found since the last sync "
            "are emitted)",
            self._index,
            problem,
        )
        return False

    def _sweep(
        self, sweep: Sweep, pipeline: PagePipeline, following: Sweep | None
    ) -> Iterator[Record]:
        settings = self._settings
        self._logger.debug(
            "search_results %s: %s sweep over %s",
            self._index,
            sweep.name,
            ", ".join(window.describe() for window in sweep.windows),
        )
        reader = WindowReader(
            self._fetch_page,
            base_query=settings.search_query,
            page_size=settings.page_size,
            concurrency=settings.api.max_concurrency,
            # Open windows are cut at whole hours, so the same split points (so the same
            # queries) come from run to run, which lets the server reuse what it cached.
            now=self._now.replace(minute=0, second=0, microsecond=0),
            describe=f"index {self._index}",
            fixed_range=sweep.fixed_range,
            sizer=self._sizer,
            pipeline=pipeline,
        )
        then = None  # the query of the next sweep's first window, read right after this one
        if following is not None:
            then = combine_query(settings.search_query, following.windows[0], following.fixed_range)
        for completed in reader.read(sweep.windows, then):
            yield from self._hand_out(completed, sweep.task_range)
            # Freed before the next window is read, not once it has been: memory holds one
            # window's posts at a time (two at once made the peak grow with the number of
            # windows, as the largest pair of neighbours does).
            del completed

    def _hand_out(self, completed: CompletedWindow, task_range: bool) -> Iterator[Record]:
        """Sorted chunks: a STATE at least every CHECKPOINT_POSTS posts, no request more."""
        accept, done = self._checkpoint.accept, self._checkpoint.window_done
        for part, posts in chunks(completed):
            for post in posts:
                if accept(post, task_range=task_range):
                    yield post.record
            done(part, task_range=task_range)
            self._save()

    def _report(self) -> None:
        counts, index = self._checkpoint.counts, self._index
        # An empty sub-source is news only at debug level (an account has up to 16 of them).
        busy = counts.emitted or counts.skipped_seen or counts.skipped_old
        self._logger.log(
            logging.INFO if busy else logging.DEBUG,
            "search_results %s: %d post(s) emitted, %d read again and skipped as delivered "
            "(boundary zone), %d skipped as found before the last sync",
            index,
            counts.emitted,
            counts.skipped_seen,
            counts.skipped_old,
        )
        if counts.zone_overflow:
            self._logger.warning(
                "search_results %s: the boundary zone holds %d posts more than "
                "boundary_zone_max_posts (%d); those found earliest are forgotten, so the next "
                "sync emits them again if it reads them again (same data_source + id: an "
                "upserting target keeps one row); raise boundary_zone_max_posts (~11 bytes "
                "of state per post) or lower discovery_lookback_minutes / lookback_minutes",
                index,
                counts.zone_overflow,
                self._settings.boundary_zone_max_posts,
            )
        self._report_delay()
        for warning in self._warnings.warnings(index):
            self._logger.warning(warning)

    def _report_delay(self) -> None:
        widened = self._checkpoint.widened()
        if widened is None:
            return  # a delay well inside discovery_lookback_minutes: nothing to say
        delay, lookback = widened
        configured = self._checkpoint.configured_discovery
        self._logger.warning(
            "search_results %s: posts became searchable up to %s after their discovery date "
            "(content.found), more than half of discovery_lookback_minutes (%d): the discovery "
            "sweep reads %s back instead (at most 24 h) so none is missed; raise "
            "discovery_lookback_minutes to %d or more",
            self._index,
            minutes(delay),
            configured.total_seconds() // 60,
            minutes(lookback),
            math.ceil(lookback.total_seconds() / 60),
        )
