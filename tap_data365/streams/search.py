"""The ``search_results`` stream: posts of each selected sub-source (see search_results/)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterator
from typing import ClassVar

from singer_sdk import StreamSchema
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_data365 import normalize
from tap_data365.http.paths import COUNT_PATH, SEARCH_PATH
from tap_data365.search_results.checkpoints import Counts, SourceCheckpoint
from tap_data365.search_results.found_filter import found_filter_problem
from tap_data365.search_results.hits import OddHits, count_total, search_hits, search_record
from tap_data365.search_results.ranges import Record
from tap_data365.search_results.sizing import Counter, WindowSizer
from tap_data365.search_results.state import REPLICATION_KEY
from tap_data365.search_results.sync import ReadOptions, SourceSync
from tap_data365.search_results.windows import PageFetcher
from tap_data365.streams.account import PerSourceStream
from tap_data365.streams.base import SCHEMAS

#: Where reading starts when neither a bookmark nor start_date says otherwise.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class SearchResultsStream(PerSourceStream):
    """Posts of each selected sub-source, read window by window (see windows.py)."""

    name = "search_results"
    path = SEARCH_PATH
    http_method = "POST"
    primary_keys: ClassVar[list[str]] = ["data_source", "id"]
    replication_key = REPLICATION_KEY
    schema = StreamSchema(SCHEMAS)
    # The record's own `data_source` doubles as the partition key, so the SDK adds no field.
    context_key = "data_source"

    @override
    def context_for(self, source: str) -> dict[str, str]:
        index = normalize.SEARCH_INDEX_PREFIX + source
        self._source_of[index] = source  # the partition's index → the sub-source it reads
        return {self.context_key: index}

    @functools.cached_property
    def _source_of(self) -> dict[str, str]:
        return {}

    # Posts are JSON-native (strings, numbers, lists, objects): nothing to convert.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # Nothing deselected: no per-record walk through every nested block (see sdk_hooks.py).
    fast_record_messages = True
    # Posts come in no promised order, so the bookmark moves only when a whole window has
    # been delivered (SourceCheckpoint.window_done), never per record.
    bookmarks_per_record = False

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        return None  # bookmarks are exact (per completed window); nothing to clamp

    @override
    def get_records(self, context: Context | None) -> Iterator[Record]:
        assert context is not None
        index = context[self.context_key]
        now = dt.datetime.now(dt.UTC)
        checkpoint = SourceCheckpoint(
            self.get_context_state(context),
            lookback=self.settings.lookback,
            discovery_lookback=self.settings.discovery_lookback,
            now=now,
            zone_limit=self._zone_limit,
        )
        base_query = self.settings.search_query
        odd = OddHits()
        fetch_page = self._page_fetcher(index, odd)
        found_filter = checkpoint.wants_found_sweep() and self._found_filter_works(
            index, fetch_page, base_query, now
        )
        plan = checkpoint.plan(
            self.account.tasks(self._source_of[index], self),
            start=self.get_starting_timestamp(context),
            floor=self.settings.start_date or EPOCH,
            end=self.settings.end_date,
            found_filter=found_filter,
        )
        options = ReadOptions(
            base_query=base_query,
            page_size=self.settings.page_size,
            concurrency=self.settings.api.max_concurrency,
            cut_at=now.replace(minute=0, second=0, microsecond=0),
            describe=f"index {index}",
        )
        sizer = WindowSizer(self._counter(index), self.logger.warning)
        yield from SourceSync(checkpoint, fetch_page, sizer, options, self._checkpoint).records(
            plan
        )
        self._report(index, checkpoint.counts)
        for warning in odd.warnings(index):
            self.logger.warning(warning)

    def _found_filter_works(
        self, index: str, fetch_page: PageFetcher, base_query: str, now: dt.datetime
    ) -> bool:
        """Checked every sync; a server that fails the check gets the task-range fallback."""
        problem = found_filter_problem(fetch_page, base_query, now)
        if problem is None:
            return True
        self.logger.warning(
            "search_results: the Datastreamer API does not filter %s on content.found (%s): "
            "posts collected late are found through finished tasks' date ranges instead, "
            "which are read again whole (only posts found since the last sync are emitted)",
            index,
            problem,
        )
        return False

    def _report(self, index: str, counts: Counts) -> None:
        # An empty sub-source is news only at debug level (an account has up to 16 of them).
        busy = counts.emitted or counts.skipped_seen or counts.skipped_old
        self.logger.log(
            logging.INFO if busy else logging.DEBUG,
            "search_results %s: %d post(s) emitted, %d read again and skipped as delivered "
            "(boundary zone), %d skipped as found before the last sync",
            index,
            counts.emitted,
            counts.skipped_seen,
            counts.skipped_old,
        )
        if counts.zone_overflow:
            self.logger.warning(
                "search_results %s: the boundary zone holds %d posts more than "
                "boundary_zone_max_posts (%d); those found earliest are forgotten, so the next "
                "sync emits them again if it reads them again (same data_source + id: an "
                "upserting target keeps one row); raise boundary_zone_max_posts (~11 bytes "
                "of state per post) or lower discovery_lookback_minutes / lookback_minutes",
                index,
                counts.zone_overflow,
                self._zone_limit,
            )

    @property
    def _zone_limit(self) -> int:
        return self.settings.boundary_zone_max_posts

    def _page_fetcher(self, index: str, odd: OddHits) -> PageFetcher:
        def fetch_page(query: str, offset: int, size: int) -> list[Record]:
            body = {
                "query": {"from": offset, "size": size, "query": query, "data_sources": [index]}
            }
            payload = self.request_json(
                "POST", SEARCH_PATH + "?keep_alive_seconds=60", body, what=f"searching {index}"
            )
            hits = search_hits(payload)
            return [search_record(raw, index, odd) for raw in hits]

        return fetch_page

    def _counter(self, index: str) -> Counter:
        def count(query: str) -> int | None:
            body = {"query": {"query": query, "data_sources": [index]}}
            return count_total(
                self.request_json("POST", COUNT_PATH, body, what=f"counting posts of {index}")
            )

        return count

    def _checkpoint(self) -> None:
        """Emit STATE now: the SDK only writes it when records went out since the last one,
        and our changes (plan, empty windows) do not count as records."""
        if self.settings.batch:
            # BATCH mode: the records read so far may sit in a batch file not yet announced;
            # the SDK writes STATE right after each BATCH message, never ahead of it.
            return
        self.write_state_now()
