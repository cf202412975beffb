"""Every private Singer SDK hook the tap uses, fenced in two base classes.

Written against singer-sdk 0.54.9 (``SDK_VERSION``). Each hook below says why it exists and
which SDK code it copies or relies on. ``tests/streams/test_sdk_hooks.py`` records a hash of the
source of every such SDK function and checks the behaviour the hooks count on, so an SDK
upgrade that changes any of them fails the tests instead of silently breaking checkpoints:
read the new SDK code, adapt the hook here, then record the new hash.

Public SDK hooks (``get_records``, ``post_process``, …) live with the code they configure.
The SDK's HTTP machinery (``request_decorator``, ``backoff_*``) is not used: every request
goes through the tap's own transport (``http/transport.py``), shared with ``setup``.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
from collections.abc import Generator, Mapping
from types import FrameType
from typing import Any, ClassVar

import singer_sdk.singerlib as singer
from singer_sdk import RESTStream, Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.types import Context, Record
from singer_sdk.mapper import SameRecordTransform
from typing_extensions import override

#: The singer-sdk release every hook here was written against and checked with.
SDK_VERSION = "0.54.9"

#: The start of the line ``Stream.sync`` logs before re-raising any error.
SDK_SYNC_ERROR_LINE = "An unhandled error occurred while syncing"


#: INFO lines of the SDK that tell a user of this tap nothing, shown at DEBUG level only:
#: PluginBase.__init__ logs the first on every run without ``--config ENV``;
#: StreamStateManager.write_starting_replication_value the second once per sub-source (16
#: lines for an account, most of them empty; the tap logs one line per sub-source that had
#: posts). Matched on the SDK's format strings (0.54.9).
QUIET_SDK_LINES = frozenset(
    {
        "Skipping parse of env var settings...",
        "Starting incremental sync of '%s' with bookmark value: %s",
    }
)


class _QuietSdkLines(logging.Filter):
    @override
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or record.msg not in QUIET_SDK_LINES:
            return True
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_QUIET = _QuietSdkLines()


class FencedTap(Tap):
    """The tap's private hooks: settings checked first, the termination signals, and the
    SDK's lines that only make noise."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Before the SDK's __init__, which logs the first of QUIET_SDK_LINES.
        self.logger.addFilter(_QUIET)  # a no-op when the filter is there already
        super().__init__(*args, **kwargs)

    @staticmethod
    def check_config_first(config: Mapping[str, Any]) -> None:
        """Checks run before the SDK's JSON Schema validation; raise a one-line error."""

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        # Relies on: PluginBase.__init__ calling _validate_config(raise_errors=…) once the
        # settings are merged (0.54.9). Why: our checks name the setting in one line and run
        # before any request; the SDK's validation error is a multi-line summary.
        if raise_errors:
            self.check_config_first(self.config)
        return super()._validate_config(raise_errors=raise_errors)

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        # Replaces: Tap._handle_termination (writes the current state, then
        # PluginBase._handle_termination exits 0), registered for SIGINT and SIGTERM by
        # PluginBase._setup_signal_handlers (0.54.9). Why: an orchestrator would take the
        # interrupted sync for a success, and in BATCH mode that state may cover records
        # whose BATCH message was never written. Every STATE already written is consistent:
        # stop right there, 128 + the signal number, without waiting for requests in flight.
        name = signal.Signals(signum).name
        message = f"{self.name}: interrupted by {name}; the next sync resumes from the last STATE\n"
        try:
            sys.stdout.flush()
            os.write(2, message.encode())
        except (OSError, RuntimeError, ValueError):
            pass  # stdout closed, or the signal arrived in the middle of a write
        os._exit(128 + signum)


class DirectRecordWriter(MsgSpecWriter):
    """A writer that can also take a RECORD's parts and write its line directly.

    ``write_record`` writes what ``write_message(RecordMessage(...))`` would: the same dict
    as ``RecordMessage.to_dict`` (its time_extracted now, in UTC, as ``RecordMessage``'s
    ``__post_init__`` makes it), encoded by the SDK's own msgspec encoder (0.54.9). Why:
    the message object, its ``__post_init__`` and ``to_dict`` cost about a microsecond a
    post.
    """

    def write_record(self, stream: str, record: Record, version: int | None) -> None:
        """Write one RECORD message (see ``write_message``)."""
        line: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": record}
        if version is not None:
            line["version"] = version
        line["time_extracted"] = utc_now()
        self.write_record_line(line)

    def write_record_line(self, line: dict[str, Any]) -> None:
        """Encode and write one RECORD message's dict as a line (a writer may hold it)."""
        sys.stdout.buffer.write(encoder.encode(line) + b"\n")
        sys.stdout.flush()


class FencedStream(RESTStream[Any]):
    """The streams' private hooks: the SDK's error line, records and STATE on our terms.

    Streams opt in with the two class switches; by default every hook behaves like the SDK.
    """

    #: False: the SDK never moves the bookmark per record; the stream calls
    #: ``write_state_now`` itself once whole windows are delivered (see checkpoints.py).
    bookmarks_per_record: ClassVar[bool] = True
    #: True: when nothing is deselected, records skip the SDK's per-record deselection walk
    #: (only for streams whose TYPE_CONFORMANCE_LEVEL is NONE: the conformance step is
    #: skipped too).
    fast_record_messages: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The stream's logger is also its state manager's (logging.getLogger(tap).getChild).
        self.logger.addFilter(_QUIET)

    @override
    def log(self, message: str, *args: Any, level: int = logging.INFO, **kwargs: Any) -> None:
        # Relies on: Stream.sync logging SDK_SYNC_ERROR_LINE before re-raising (0.54.9).
        # Why: the CLI prints the error itself, in one line naming what was being done; the
        # SDK's line would blame this stream even when listing sources failed.
        if message.startswith(SDK_SYNC_ERROR_LINE):
            return
        super().log(message, *args, level=level, **kwargs)

    @functools.cached_property
    def _everything_selected(self) -> bool:
        return all(self.mask.values())

    @override
    def _generate_record_messages(
        self, record: Record
    ) -> Generator[singer.RecordMessage, None, None]:
        # Copies: Stream._generate_record_messages minus pop_deselected_record_properties and
        # conform_record_data_types, using the private _stream_version and
        # helpers._util.utc_now as the SDK does (0.54.9). Why: with nothing deselected, the
        # SDK's walk through every nested block of every post cost more than fetching them.
        if not (self.fast_record_messages and self._everything_selected):
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield singer.RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )

    @functools.cached_property
    def _direct_record_writer(self) -> tuple[str, DirectRecordWriter] | None:
        """The stream name and writer of the direct record path, None when it is off.

        On only when nothing would change a record between ``post_process`` and its line:
        the SDK's one default map (no stream maps; its ``transform`` only flattens, here
        disabled), nothing deselected, no type conformance, and a DirectRecordWriter.
        Record limits (``--test``), metrics and state stay the SDK's: its loop still runs.
        BATCH mode never writes RECORD messages. Read on the first record, when the
        catalog and the maps are set.
        """
        maps, writer = self.stream_maps, self._tap.message_writer
        direct = (
            self.fast_record_messages
            and self._everything_selected
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and not maps[0].flattening_enabled
        )
        if direct and isinstance(writer, DirectRecordWriter):
            return maps[0].stream_alias, writer
        return None

    @override
    def _sync_records(
        self, context: Context | None = None, *, write_messages: bool = True
    ) -> Generator[dict[str, Any], Any, Any]:
        # Copies: Stream._sync_records (0.54.9) for the direct record path only: the same
        # metrics, partition contexts, starting values, STATE every STATE_MSG_FREQUENCY
        # records and finalised state, minus what cannot happen there (a record limit, child
        # streams, tuples from get_records, sort checks of a stream that is not sorted).
        # Why: the SDK's per-record calls cost ~1 us a post. Everything else (BATCH calls
        # this with write_messages False, --test sets ABORT_AT_RECORD_COUNT) takes the SDK's.
        direct = self._direct_record_writer
        if (direct is None or not write_messages or self.ABORT_AT_RECORD_COUNT is not None
                or self.child_streams or not self.selected):  # fmt: skip
            yield from super()._sync_records(context, write_messages=write_messages)
            return
        stream, writer = direct
        write_record, version = writer.write_record, self._stream_version
        counter, timer, frequency = self.get_record_counter(), self.get_sync_timer(), 0
        # Looked up once, not per record: the state manager is made once per stream, and
        # without per-record bookmarks _increment_stream_state does nothing.
        manager, per_record = self.state_manager, self.bookmarks_per_record
        with counter, timer:
            for element in ([context] if context is not None else self.partitions) or [{}]:
                counter.with_context(element)
                timer.with_context(element)
                current = element or None
                partition = self._get_state_partition_context(current)
                self._write_starting_replication_value(current)
                keys = tuple((partition or {}).items())
                for raw in self.get_records(current):
                    record = self.post_process(raw, current)
                    if record is None:
                        continue
                    for key, value in keys:  # as Stream._process_record adds them
                        if key not in record:
                            record[key] = value
                    write_record(stream, record, version)
                    manager.is_flushed = False
                    if per_record:
                        self._increment_stream_state(record, context=current)
                    frequency += 1
                    if frequency % self.STATE_MSG_FREQUENCY == 0:
                        self._write_state_message()
                    counter.increment()
                    yield record
                if current == partition:
                    self._finalize_state(self.get_context_state(current))
        if not context:
            self._finalize_state(self.stream_state)
        self._write_state_message()

    @override
    def _write_record_message(self, record: Record) -> None:
        # Copies: Stream._write_record_message (messages from _generate_record_messages to
        # Tap.write_message, then state_manager.is_flushed = False), using the private
        # _stream_version as _generate_record_messages does (0.54.9). Why: with the default
        # map only, the RecordMessage object, its to_dict and the map's call cost more per
        # post than writing the line (see _direct_record_writer for when it is on).
        direct = self._direct_record_writer
        if direct is None:
            super()._write_record_message(record)
            return
        stream, writer = direct
        writer.write_record(stream, record, self._stream_version)
        self.state_manager.is_flushed = False

    @override
    def _process_record(
        self,
        record: Record,
        child_context: Context | None = None,
        partition_context: Context | None = None,
    ) -> None:
        # Copies: the first half of Stream._process_record (the partition's keys added to
        # the record), 0.54.9. Why: the second half syncs child streams, per record through
        # a generator and _sync_children; a stream without children skips it.
        if self.child_streams:
            super()._process_record(record, child_context, partition_context)
            return
        for key, value in (partition_context or {}).items():
            if key not in record:
                record[key] = value

    @override
    def _increment_stream_state(
        self, latest_record: Record, *, context: Context | None = None
    ) -> None:
        # Replaces: Stream._increment_stream_state, called by Stream._sync_records after each
        # record (0.54.9). Why: posts come in no promised order, so a stream with
        # bookmarks_per_record False moves its bookmark only when a whole window is done.
        if self.bookmarks_per_record:
            super()._increment_stream_state(latest_record, context=context)

    def write_state_now(self) -> None:
        """Emit STATE now, even if no record went out since the last one.

        Relies on: Stream._write_state_message writing only when
        ``state_manager.is_flushed`` is False (0.54.9). Why: the SDK only clears that flag
        per record; our changes (a plan, empty windows) must be durable too.
        """
        self.state_manager.is_flushed = False
        self._write_state_message()
