"""The direct record path (sdk_hooks.DirectRecordWriter) writes what the SDK's path writes.

Two syncs of the same emulator data: one with the defaults (records go out through the
direct path) and one with a stream map that changes nothing, which turns the direct path
off, so every record goes through the SDK's maps, RecordMessage and writer. Their RECORD and
STATE messages must be the same, time_extracted aside. The emulator's odd values (every 7th
post in an odd shape) make the conformance take both of its ways too: the msgspec check
for the common shape and the per-field loop for the rest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from data365_emulator import Emulator
from tap_data365.tap import RecordBatchingWriter, TapData365
from tests.helpers.emulator import start_emulator
from tests.helpers.tap import API_KEY, run_tap, sync

SOURCES = {"twitter_keywords": 700, "tiktok_hashtag": 120}
START: dict[str, Any] = {"start_date": "2024-01-01T00:00:00Z", "sources": sorted(SOURCES)}
#: A map that keeps every field as it is: the SDK path, with the same records.
NO_OP_MAP: dict[str, Any] = {"stream_maps": {"search_results": {"id": "id"}}}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator(
        seed_posts=SOURCES, connected_sources=tuple(SOURCES), odd_values=True
    ) as emu:
        yield emu


def _messages(stdout: str) -> list[dict[str, Any]]:
    """RECORD and STATE messages in order, without time_extracted."""
    kept = []
    for line in stdout.splitlines():
        message = json.loads(line)
        if message["type"] in {"RECORD", "STATE"}:
            message.pop("time_extracted", None)
            kept.append(message)
    return kept


def test_direct_and_sdk_paths_write_the_same_messages(emulator: Emulator, tmp_path: Path) -> None:
    direct = sync(emulator, tmp_path, name="direct", **START)
    through_sdk = sync(emulator, tmp_path, name="sdk", **START, **NO_OP_MAP)
    slow_out = through_sdk.stdout
    fast, slow = _messages(direct.stdout), _messages(slow_out)
    posts = [m for m in fast if m["type"] == "RECORD" and m["stream"] == "search_results"]
    assert len(posts) == sum(SOURCES.values())
    assert any("extra_fields" in m["record"] for m in posts)  # the odd shapes were fitted
    assert fast == slow
    # time_extracted is still written, in the SDK's spelling
    spellings = [
        re.sub(r"\d", "0", _first_post_extracted(out)) for out in (direct.stdout, slow_out)
    ]
    assert spellings[0] == spellings[1]


def _first_post_extracted(stdout: str) -> str:
    start = '{"type":"RECORD","stream":"search_results"'
    line = next(line for line in stdout.splitlines() if line.startswith(start))
    stamp: str = json.loads(line)["time_extracted"]
    return stamp


def _search_stream(config: dict[str, Any]) -> Any:
    tap = TapData365(config={"api_key": API_KEY, "api_url": "http://127.0.0.1:9", **config},
                     message_writer=RecordBatchingWriter())  # fmt: skip
    return tap.streams["search_results"]


@pytest.mark.parametrize(
    ("config", "direct"),
    [
        ({}, True),
        (NO_OP_MAP, False),
        ({"flattening_enabled": True, "flattening_max_depth": 1}, False),
    ],
)
def test_the_direct_path_is_on_only_without_maps_or_flattening(
    config: dict[str, Any], *, direct: bool
) -> None:
    assert (_search_stream(config)._direct_record_writer is not None) is direct


def test_a_deselected_field_turns_the_direct_path_off() -> None:
    stream = _search_stream({})
    stream.mask[("properties", "author")] = False
    assert stream._direct_record_writer is None


def test_test_mode_still_stops_after_one_record(emulator: Emulator, tmp_path: Path) -> None:
    # --test sets the SDK's record limit, which only its own loop checks.
    config = {"api_key": API_KEY, "api_url": emulator.url, **START}
    result = run_tap(tmp_path, config, args=["--test"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(result.records["search_results"]) == 1
    assert len(result.records["sources"]) == 1


def _record_counts(stderr: str) -> dict[str, int]:
    """The SDK's record_count metric points of search_results, summed per tag set."""
    counts: dict[str, int] = {}
    for line in stderr.splitlines():
        if "METRIC" in line and '"record_count"' in line:
            point = json.loads(line[line.index("{") :])
            if point["tags"].get("stream") == "search_results":
                tags = json.dumps({**point["tags"], "pid": None}, sort_keys=True)
                counts[tags] = counts.get(tags, 0) + point["value"]
    return counts


def test_the_sdk_metrics_count_the_direct_records(emulator: Emulator, tmp_path: Path) -> None:
    metrics: dict[str, Any] = {"metrics_log_level": "INFO"}
    direct = sync(emulator, tmp_path, name="direct", **START, **metrics)
    through_sdk = sync(emulator, tmp_path, name="sdk", **START, **metrics, **NO_OP_MAP)
    counts = _record_counts(direct.stderr)
    assert sum(counts.values()) == sum(SOURCES.values())
    assert counts == _record_counts(through_sdk.stderr)
