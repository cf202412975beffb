"""The ``search_results`` stream: posts of each selected sub-source (see search_results/)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, ClassVar

from singer_sdk import StreamSchema
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_data365 import normalize
from tap_data365.http.paths import COUNT_PATH, SEARCH_PATH
from tap_data365.search_results.sync import REPLICATION_KEY, SubSourceSync
from tap_data365.streams.account import PerSourceStream
from tap_data365.streams.base import SCHEMAS


class SearchResultsStream(PerSourceStream):
    """Posts of each selected sub-source; the sync itself is ``search_results.sync``."""

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
    # been delivered (search_results/checkpoints.py), never per record.
    bookmarks_per_record = False

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        return None  # bookmarks are exact (per completed window); nothing to clamp

    @override
    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        assert context is not None
        index = context[self.context_key]
        sync = SubSourceSync(
            index,
            self.get_context_state(context),
            self.settings,
            tasks=lambda: self.account.tasks(self._source_of[index], self),
            start=self.get_starting_timestamp(context),
            search=functools.partial(self._search, index),
            count=functools.partial(self._count, index),
            save_state=self._checkpoint,
            logger=self.logger,
        )
        yield from sync.records()

    def _search(self, index: str, query: str, offset: int, size: int) -> object:
        body = {"query": {"from": offset, "size": size, "query": query, "data_sources": [index]}}
        return self.request_json(
            "POST", SEARCH_PATH + "?keep_alive_seconds=60", body, what=f"searching {index}"
        )

    def _count(self, index: str, query: str) -> object:
        body = {"query": {"query": query, "data_sources": [index]}}
        return self.request_json("POST", COUNT_PATH, body, what=f"counting posts of {index}")

    def _checkpoint(self) -> None:
        """Emit STATE now: the SDK only writes it when records went out since the last one,
        and our changes (plan, empty windows) do not count as records."""
        if self.settings.batch:
            # BATCH mode: the records read so far may sit in a batch file not yet announced;
            # the SDK writes STATE right after each BATCH message, never ahead of it.
            return
        self.write_state_now()
