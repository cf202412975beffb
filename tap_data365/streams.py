"""The three streams: ``sources``, ``tasks`` and ``search_results``."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from singer_sdk import SchemaDirectory, StreamSchema, Tap
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_data365 import normalize
from tap_data365.api_paths import COUNT_PATH, PROVIDER_PATH, SEARCH_PATH, source_path, task_path
from tap_data365.client import Data365Stream
from tap_data365.errors import ConfigError
from tap_data365.http.transport import Transport
from tap_data365.search_results.boundary import DEFAULT_MAX_POSTS
from tap_data365.search_results.checkpoints import Counts, SourceCheckpoint
from tap_data365.search_results.found_filter import found_filter_problem
from tap_data365.search_results.hits import OddHits, count_total, search_hits, search_record
from tap_data365.search_results.ranges import Record
from tap_data365.search_results.sizing import Counter, WindowSizer
from tap_data365.search_results.state import REPLICATION_KEY
from tap_data365.search_results.sync import ReadOptions, SourceSync
from tap_data365.search_results.windows import PageFetcher
from tap_data365.settings import check_connected, configured_sources

#: Where reading starts when neither a bookmark nor start_date says otherwise.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _schema_dir() -> Any:
    """The top-level schemas/ folder: inside the wheel, or beside the package in a checkout."""
    packaged = resources.files("tap_data365").joinpath("schemas")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "schemas"


SCHEMAS = SchemaDirectory(_schema_dir())


class AccountSources:
    """The account's connected sub-sources and their tasks, read once per run and shared.

    Requests go through the stream that asked first, so the SDK's metrics name it.
    """

    def __init__(self, tap: Tap) -> None:
        self._tap = tap
        self._tasks: dict[str, list[dict[str, Any]]] = {}

    @functools.cached_property
    def _client(self) -> Data365Stream:
        stream = self._tap.streams["sources"]
        assert isinstance(stream, Data365Stream)
        return stream

    @functools.lru_cache(maxsize=1)  # noqa: B019  (one listing per tap run)
    def records(self) -> list[dict[str, Any]]:
        """The connected sub-sources, one record each."""
        body = self._client.request_json("GET", PROVIDER_PATH, what="listing connected sources")
        return normalize.source_records(body)

    def selected(self) -> list[str]:
        """The sub-sources to extract: the ``sources`` setting, or every connected one."""
        configured = configured_sources(self._tap.config)
        connected = [record["name"] for record in self.records()]
        if configured is not None:
            check_connected(configured, connected)
            return configured
        if not connected:
            raise ConfigError(
                "no Data365 sub-source is connected to this Datastreamer account, so there is "
                "nothing to sync: connect one (see tap-data365 setup) or set sources"
            )
        return connected

    def tasks(self, source: str, asking: Data365Stream) -> list[dict[str, Any]]:
        """The source's tasks as records, with each open task's status read individually.

        The list's status lags behind the single-task status, so a task the list still
        shows as open is asked about directly (finished tasks are not asked again).
        """
        if source not in self._tasks:
            self._tasks[source] = self._read_tasks(source, asking)
        return self._tasks[source]

    def _read_tasks(self, source: str, client: Data365Stream) -> list[dict[str, Any]]:
        body = client.request_json(
            "GET", source_path(source), what=f"listing tasks of source {source}"
        )
        records = []
        for raw in normalize.task_list(body):
            record = normalize.task_record(raw, source)
            record["list_status"] = record["status"]
            status = record["status"]
            if record["id"] and not (normalize.is_done(status) or normalize.is_failed(status)):
                single = normalize.task_object(
                    client.request_json(
                        "GET",
                        task_path(source, record["id"]),
                        what=f"reading task {record['id']} of source {source}",
                    )
                )
                record["status"] = normalize.task_status(single) or status
                record["updated_at"] = normalize.task_updated_at(single) or record["updated_at"]
            records.append(record)
        return records


class _AccountStream(Data365Stream):
    """A stream reading the account's sources and tasks through the run's AccountSources."""

    def __init__(self, tap: Tap, account: AccountSources, transport: Transport) -> None:
        super().__init__(tap, transport)
        self.account = account


class SourcesStream(_AccountStream):
    """One record per connected Data365 sub-source."""

    name = "sources"
    path = PROVIDER_PATH
    primary_keys: ClassVar[list[str]] = ["name"]
    schema = StreamSchema(SCHEMAS)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        yield from self.account.records()


class _PerSourceStream(_AccountStream):
    """A stream with one state partition per selected sub-source."""

    context_key: ClassVar[str]

    def context_for(self, source: str) -> dict[str, str]:
        return {self.context_key: source}

    @property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        return [self.context_for(source) for source in self.account.selected()]


class TasksStream(_PerSourceStream):
    """Collection tasks of each selected sub-source, with a normalised status."""

    name = "tasks"
    path = PROVIDER_PATH + "/{source}"
    primary_keys: ClassVar[list[str]] = ["source", "id"]
    schema = StreamSchema(SCHEMAS)
    context_key = "source"

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        assert context is not None
        yield from self.account.tasks(context["source"], self)


class SearchResultsStream(_PerSourceStream):
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
            lookback=dt.timedelta(minutes=int(self.config.get("lookback_minutes", 60))),
            discovery_lookback=dt.timedelta(
                minutes=int(self.config.get("discovery_lookback_minutes", 10))
            ),
            now=now,
            zone_limit=self._zone_limit,
        )
        base_query = str(self.config.get("search_query") or "*")
        odd = OddHits()
        fetch_page = self._page_fetcher(index, odd)
        found_filter = checkpoint.wants_found_sweep() and self._found_filter_works(
            index, fetch_page, base_query, now
        )
        plan = checkpoint.plan(
            self.account.tasks(self._source_of[index], self),
            start=self.get_starting_timestamp(context),
            floor=normalize.parse_timestamp(self.config.get("start_date")) or EPOCH,
            end=normalize.parse_timestamp(self.config.get("end_date")),
            found_filter=found_filter,
        )
        options = ReadOptions(
            base_query=base_query,
            page_size=int(self.config.get("page_size", 100)),
            concurrency=int(self.config.get("max_concurrency", 8)),
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
        return int(self.config.get("boundary_zone_max_posts", DEFAULT_MAX_POSTS))

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
        if self.get_batch_config(self.config):
            # BATCH mode: the records read so far may sit in a batch file not yet announced;
            # the SDK writes STATE right after each BATCH message, never ahead of it.
            return
        self.write_state_now()
