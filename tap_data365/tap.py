"""TapData365: settings, discovery and the stream list."""

from __future__ import annotations

import atexit
import functools
import os
import signal
import sys
from types import FrameType
from typing import Any

from singer_sdk import Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import Message, RecordMessage
from typing_extensions import override

from tap_data365 import streams
from tap_data365.client import Data365Stream
from tap_data365.errors import MAX_RETRY_WAIT_SECONDS
from tap_data365.ratelimit import START_LIMIT, AdaptiveLimiter
from tap_data365.settings import CONFIG_SCHEMA, check_settings


class RecordBatchingWriter(MsgSpecWriter):
    """msgspec serialisation, written to stdout in blocks instead of one write per message.

    The SDK's writer flushes after each message: one system call per post (and with
    PYTHONUNBUFFERED, one per write). Records are held until 64 KiB have gathered or a
    non-RECORD message comes; every STATE therefore reaches the target after the records
    it covers, never before.
    """

    FLUSH_BYTES = 1 << 16

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending = bytearray()
        atexit.register(self.flush)

    @override
    def write_message(self, message: Message) -> None:
        self._pending += self.format_message(message)
        if not isinstance(message, RecordMessage) or len(self._pending) >= self.FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write out what is pending."""
        if self._pending:
            sys.stdout.buffer.write(self._pending)
            self._pending.clear()
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
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        # The SDK writes the current state and exits 0. An orchestrator would take the
        # interrupted sync for a success, and in BATCH mode that state may cover records
        # whose BATCH message was never written. Every STATE already written is consistent:
        # stop right there, 128 + the signal number, without waiting for requests in flight.
        name = signal.Signals(signum).name
        message = f"tap-data365: interrupted by {name}; the next sync resumes from the last STATE\n"
        try:
            sys.stdout.flush()
            os.write(2, message.encode())
        except (OSError, RuntimeError, ValueError):
            pass  # stdout closed, or the signal arrived in the middle of a write
        os._exit(128 + signum)

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

    @functools.cached_property
    def request_limiter(self) -> AdaptiveLimiter:
        """One limiter for every request of the run, whichever stream or worker sends it.

        Created by the first request, which the main thread sends (the source catalog)
        before any worker starts.
        """
        rate = self.config.get("max_requests_per_second")
        return AdaptiveLimiter(
            int(self.config.get("max_concurrency", 8)),
            max_requests_per_second=float(rate) if rate else None,
            max_pause=float(self.config.get("max_retry_wait", MAX_RETRY_WAIT_SECONDS)),
            start=START_LIMIT,
        )
