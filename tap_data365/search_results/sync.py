"""One sub-source's sync, one way: plan → named sweeps → windows read to their end →
checkpoint chunks → each post accepted (or skipped as delivered) → records.

Nothing goes back: the plan is adopted (and saved) before anything is read, each completed
window's posts go out sorted in chunks with a STATE after each (no request more), and the
zone is trimmed to what the next sync reads again once every sweep is done.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tap_data365.search_results.checkpoints import SourceCheckpoint, chunks
from tap_data365.search_results.plan import Plan, Sweep
from tap_data365.search_results.ranges import Record
from tap_data365.search_results.sizing import WindowSizer
from tap_data365.search_results.windows import PageFetcher, WindowReader


@dataclass(frozen=True)
class ReadOptions:
    """How windows are read (the same for every sweep of the sync)."""

    base_query: str
    page_size: int
    concurrency: int
    #: Where open windows are cut: whole hours, so the same split points (so the same
    #: queries) come from run to run, which lets the server reuse what it cached for them.
    cut_at: dt.datetime
    describe: str


class SourceSync:
    """Reads the plan's sweeps and yields the posts to emit; ``save`` emits STATE."""

    def __init__(
        self,
        checkpoint: SourceCheckpoint,
        fetch_page: PageFetcher,
        sizer: WindowSizer,
        options: ReadOptions,
        save: Callable[[], None],
    ) -> None:
        self._checkpoint = checkpoint
        self._fetch_page = fetch_page
        self._sizer = sizer
        self._options = options
        self._save = save

    def records(self, plan: Plan) -> Iterator[Record]:
        self._checkpoint.adopt(plan)
        self._save()  # the plan is durable before anything is read
        for sweep in plan.sweeps():
            yield from self._sweep(sweep)
        self._checkpoint.finish()
        self._save()

    def _sweep(self, sweep: Sweep) -> Iterator[Record]:
        options = self._options
        reader = WindowReader(
            self._fetch_page,
            base_query=options.base_query,
            page_size=options.page_size,
            concurrency=options.concurrency,
            now=options.cut_at,
            describe=options.describe,
            also=sweep.also,
            sizer=self._sizer,
        )
        accept, done = self._checkpoint.accept, self._checkpoint.window_done
        for completed in reader.read(sweep.windows):
            # Sorted chunks: a STATE at least every CHECKPOINT_POSTS posts, no request more.
            for part, records in chunks(completed):
                for record in records:
                    if accept(record, catchup=sweep.catchup):
                        yield record
                done(part, catchup=sweep.catchup)
                self._save()
