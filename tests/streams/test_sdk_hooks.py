"""The private SDK hooks in tap_data365/sdk_hooks.py still fit the installed SDK.

Each SDK function the hooks copy or rely on is hashed; a changed hash means an SDK upgrade
changed code our checkpoints depend on. Read the new SDK code, adapt sdk_hooks.py, then
record the new hash here. The behavioural checks below run the hooks against the SDK's own
code paths.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import pytest
from singer_sdk import Stream, Tap
from singer_sdk.contrib.msgspec import MsgSpecWriter, serialize_jsonl
from singer_sdk.helpers import _util
from singer_sdk.mapper import SameRecordTransform, StreamMap
from singer_sdk.plugin_base import PluginBase
from singer_sdk.singerlib import RecordMessage
from singer_sdk.streams._state import StreamStateManager

from tap_data365 import sdk_hooks
from tap_data365.streams import SearchResultsStream
from tap_data365.tap import RecordBatchingWriter, TapData365

#: sha256 (first 16 hex digits) of inspect.getsource of each SDK function, singer-sdk 0.54.9.
RECORDED = {
    "Stream._generate_record_messages": "9b5f9fbcdedb7a1a",
    "Stream._increment_stream_state": "cabc0edb2fd4f000",
    "Stream._write_state_message": "f82ecd8d16986823",
    "Stream._sync_records": "8928dc7f50e9bf57",
    "Stream.sync": "6b4262dcdddf22b4",
    "Stream.log": "09addc57198bbc45",
    "PluginBase.__init__": "e4d42262fbeb7fbe",
    "StreamStateManager.write_starting_replication_value": "cce0c427cfc17be4",
    "PluginBase._validate_config": "0584b9e347e353fa",
    "PluginBase._setup_signal_handlers": "eb4287001bdd7d19",
    "PluginBase._handle_termination": "d467c7407cf55b00",
    "Tap._handle_termination": "2bb79ae47769883a",
    "helpers._util.utc_now": "79d85139ddece0a3",
    "Stream._write_record_message": "292b7bed39883bd9",
    "Stream._process_record": "8529b9f3ce2f849d",
    "SameRecordTransform.transform": "db46d82cacfd5593",
    "StreamMap.transform": "3d21910fbf85f850",
    "StreamMap.flatten_record": "ccb0ee05e2c2b860",
    "MsgSpecWriter.serialize_message": "e00a8a7be058c6fd",
    "contrib.msgspec.serialize_jsonl": "0ed6a3e279467f0d",
    "RecordMessage.to_dict": "821fe177d16c97aa",
    "RecordMessage.__post_init__": "dd3f2d7ace58e0a5",
    "Stream._get_state_partition_context": "e621b72985cafacf",
    "Stream._write_starting_replication_value": "0a24e5d05cd5353c",
    "Stream._finalize_state": "e08e1d0714a904b2",
}

SDK_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "Stream._generate_record_messages": Stream._generate_record_messages,
    "Stream._increment_stream_state": Stream._increment_stream_state,
    "Stream._write_state_message": Stream._write_state_message,
    "Stream._sync_records": Stream._sync_records,
    "Stream.sync": Stream.sync,
    "Stream.log": Stream.log,
    "PluginBase.__init__": PluginBase.__init__,
    "StreamStateManager.write_starting_replication_value": (
        StreamStateManager.write_starting_replication_value
    ),
    "PluginBase._validate_config": PluginBase._validate_config,
    "PluginBase._setup_signal_handlers": PluginBase._setup_signal_handlers,
    "PluginBase._handle_termination": PluginBase._handle_termination,
    "Tap._handle_termination": Tap._handle_termination,
    "helpers._util.utc_now": _util.utc_now,
    "Stream._write_record_message": Stream._write_record_message,
    "Stream._process_record": Stream._process_record,
    "SameRecordTransform.transform": SameRecordTransform.transform,
    "StreamMap.transform": StreamMap.transform,
    "StreamMap.flatten_record": StreamMap.flatten_record,
    "MsgSpecWriter.serialize_message": MsgSpecWriter.serialize_message,
    "contrib.msgspec.serialize_jsonl": serialize_jsonl,
    "RecordMessage.to_dict": RecordMessage.to_dict,
    "RecordMessage.__post_init__": RecordMessage.__post_init__,
    "Stream._get_state_partition_context": Stream._get_state_partition_context,
    "Stream._write_starting_replication_value": Stream._write_starting_replication_value,
    "Stream._finalize_state": Stream._finalize_state,
}


def _digest(func: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(func).encode()).hexdigest()[:16]


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_sdk_code_the_hooks_rely_on_is_unchanged(name: str) -> None:
    assert _digest(SDK_FUNCTIONS[name]) == RECORDED[name], (
        f"singer-sdk {version('singer-sdk')} changed {name} (the hooks were written against "
        f"{sdk_hooks.SDK_VERSION}): check tap_data365/sdk_hooks.py against the new code"
    )


def test_the_sdk_still_calls_the_hooks_where_they_expect() -> None:
    assert sdk_hooks.SDK_SYNC_ERROR_LINE in inspect.getsource(Stream.sync)
    assert "self._increment_stream_state(record" in inspect.getsource(Stream._sync_records)
    assert "if not self.state_manager.is_flushed" in inspect.getsource(Stream._write_state_message)
    handlers = inspect.getsource(PluginBase._setup_signal_handlers)
    assert "signal.SIGTERM, self._handle_termination" in handlers
    assert "self._validate_config(raise_errors=" in inspect.getsource(PluginBase.__init__)
    # The direct record path replaces these two calls of the SDK's record loop.
    loop = inspect.getsource(Stream._sync_records)
    assert "self._write_record_message(record)" in loop
    assert "self._process_record(" in loop


WRITER = RecordBatchingWriter()


@pytest.fixture
def search_stream() -> SearchResultsStream:
    # No request is sent: the streams read the account only when they sync.
    tap = TapData365(
        config={"api_key": "k", "api_url": "http://127.0.0.1:9"}, message_writer=WRITER
    )
    stream = tap.streams["search_results"]
    assert isinstance(stream, SearchResultsStream)
    return stream


POST = {
    "id": "p1",
    "data_source": "data365_twitter_keywords",
    "doc_date": "2026-01-02T03:04:05.000000Z",
    "content": {"body": "hello", "likes": 3},
    "twitter": {"retweets": 1},
}


def test_the_fast_record_path_emits_what_the_sdk_path_emits(
    search_stream: SearchResultsStream,
) -> None:
    fast = list(search_stream._generate_record_messages(json.loads(json.dumps(POST))))
    sdk = list(Stream._generate_record_messages(search_stream, json.loads(json.dumps(POST))))
    assert [(m.stream, m.record, m.version) for m in fast] == [
        (m.stream, m.record, m.version) for m in sdk
    ]
    assert fast[0].record == POST


def test_records_never_move_the_search_bookmark(search_stream: SearchResultsStream) -> None:
    context = {"data_source": "data365_twitter_keywords"}
    before = json.dumps(search_stream.get_context_state(context), sort_keys=True)
    search_stream._increment_stream_state(dict(POST), context=context)
    assert json.dumps(search_stream.get_context_state(context), sort_keys=True) == before


def test_write_state_now_writes_even_without_new_records(
    search_stream: SearchResultsStream, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    search_stream.state_manager.is_flushed = True
    search_stream._write_state_message()  # the SDK's own: nothing new, nothing written
    search_stream.write_state_now()
    WRITER.flush()
    lines = capsysbinary.readouterr().out.decode().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["STATE"]
