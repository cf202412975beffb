"""TapData365: settings, discovery and the stream list."""

from __future__ import annotations

import atexit
import functools
import sys
from collections.abc import Mapping
from typing import Any

import click
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import Message, RecordMessage
from typing_extensions import override

from tap_data365 import streams
from tap_data365.client import Data365Stream
from tap_data365.config_schema import CONFIG_SCHEMA, DEFAULT_API_URL
from tap_data365.http.ratelimit import START_LIMIT, AdaptiveLimiter
from tap_data365.http.retry import MAX_RETRY_WAIT_SECONDS
from tap_data365.http.transport import ApiSettings, Transport
from tap_data365.sdk_hooks import FencedTap
from tap_data365.settings import check_settings


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


class TapData365(FencedTap):
    """Singer tap for posts collected by Datastreamer's Data365 connector."""

    name = "tap-data365"
    package_name = "tap-data365"
    config_jsonschema = CONFIG_SCHEMA
    # msgspec serialises RECORD messages several times faster than the default writer.
    message_writer_class = RecordBatchingWriter

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        command = super().get_singer_command()
        # The Singer options come from the SDK; the task command is ours (see cli.py).
        command.epilog = (
            "Collection tasks: tap-data365 setup --help "
            "(create and start the declared tasks, wait, status, cancel, remove)."
        )
        return command

    @staticmethod
    @override
    def check_config_first(config: Mapping[str, Any]) -> None:
        check_settings(config)

    @override
    def discover_streams(self) -> list[Data365Stream]:
        account, transport = self.account_sources, self.transport
        return [
            streams.SourcesStream(self, account, transport),
            streams.TasksStream(self, account, transport),
            streams.SearchResultsStream(self, account, transport),
        ]

    @functools.cached_property
    def account_sources(self) -> streams.AccountSources:
        """The connected sub-sources, fetched once per run and shared by the streams."""
        return streams.AccountSources(self)

    @functools.cached_property
    def transport(self) -> Transport:
        """The run's one transport: every stream's requests, through one limiter."""
        settings = ApiSettings.from_config(self.config, DEFAULT_API_URL)
        return Transport(settings, limiter=self.request_limiter)

    @functools.cached_property
    def request_limiter(self) -> AdaptiveLimiter:
        """One limiter for every request of the run, whichever stream or worker sends it."""
        rate = self.config.get("max_requests_per_second")
        return AdaptiveLimiter(
            int(self.config.get("max_concurrency", 8)),
            max_requests_per_second=float(rate) if rate else None,
            max_pause=float(self.config.get("max_retry_wait", MAX_RETRY_WAIT_SECONDS)),
            start=START_LIMIT,
        )
