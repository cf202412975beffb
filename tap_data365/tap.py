"""TapData365: settings, discovery and the stream list."""

from __future__ import annotations

import functools
import sys

from singer_sdk import Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import Message, RecordMessage
from typing_extensions import override

from tap_data365 import streams
from tap_data365.client import Data365Stream
from tap_data365.settings import CONFIG_SCHEMA, check_settings


class RecordBatchingWriter(MsgSpecWriter):
    """msgspec serialisation, flushing stdout at every message except RECORD.

    The SDK's writer flushes after each message: one system call per post. Records are
    always followed by a STATE (or SCHEMA) message, which flushes them first, so a target
    never sees a bookmark before the records it covers.
    """

    @override
    def write_message(self, message: Message) -> None:
        sys.stdout.buffer.write(self.format_message(message))
        if not isinstance(message, RecordMessage):
            sys.stdout.flush()


class TapData365(Tap):
    """Singer tap for posts collected by Datastreamer's Data365 connector."""

    name = "tap-data365"
    package_name = "tap-data365"
    config_jsonschema = CONFIG_SCHEMA
    # msgspec serialises RECORD messages several times faster than the default writer.
    message_writer_class = RecordBatchingWriter

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # Our checks first: they name the setting in one line and run before any request.
        if raise_errors:
            check_settings(self._config)
        return super()._validate_config(raise_errors=raise_errors)

    @override
    def discover_streams(self) -> list[Data365Stream]:
        return [
            streams.SourcesStream(self),
            streams.TasksStream(self),
            streams.SearchResultsStream(self),
        ]

    @functools.cached_property
    def source_catalog(self) -> streams.SourceCatalog:
        """The connected sub-sources, fetched once per run and shared by the streams."""
        return streams.SourceCatalog(self)
