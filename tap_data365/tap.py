"""TapData365: settings, discovery and the stream list."""

from __future__ import annotations

import atexit
import sys
from collections.abc import Mapping
from typing import Any

import click
from singer_sdk.contrib.msgspec import encoder
from singer_sdk.singerlib import Message, RecordMessage
from typing_extensions import override

from tap_data365 import streams
from tap_data365.sdk_hooks import DirectRecordWriter, FencedTap
from tap_data365.settings import CONFIG_SCHEMA, check_settings


class RecordBatchingWriter(DirectRecordWriter):
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

    @override
    def write_record_line(self, line: dict[str, Any]) -> None:
        # Encoded straight into the pending block: no intermediate bytes per post.
        pending = self._pending
        encoder.encode_into(line, pending, -1)
        pending += b"\n"
        if len(pending) >= self.FLUSH_BYTES:
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
    def discover_streams(self) -> list[streams.Data365Stream]:
        run = streams.TapRun(self.config)  # builds nothing yet: discovery needs no api_key
        account = streams.AccountSources(self)
        return [
            streams.SourcesStream(self, run, account),
            streams.TasksStream(self, run, account),
            streams.SearchResultsStream(self, run, account),
        ]
