"""Discovery and --about need no credentials (`meltano select --list`, catalogs, the Hub)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from data365_emulator import Emulator
from tests.helpers.tap import REPO, TAP, clean_env, run_tap, write_json

STREAMS = ["search_results", "sources", "tasks"]


def _tap(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TAP, *args], capture_output=True, text=True, env=clean_env(), timeout=120, check=False
    )


def _declared_properties(stream: str) -> set[str]:
    schema = json.loads((REPO / "schemas" / f"{stream}.json").read_text(encoding="utf-8"))
    return set(schema["properties"])


CONFIGS_WITHOUT_A_KEY = [
    pytest.param(None, id="no-config"),
    pytest.param({}, id="empty-object"),
    pytest.param({"api_url": "http://127.0.0.1:9", "sources": ["tiktok_hashtag"]}, id="no-api-key"),
    pytest.param({"api_key": ""}, id="empty-api-key"),
]


@pytest.mark.parametrize("config", CONFIGS_WITHOUT_A_KEY)
def test_discovery_needs_no_credentials(config: dict[str, Any] | None, tmp_path: Path) -> None:
    args = ["--discover"]
    if config is not None:
        args += ["--config", str(write_json(tmp_path / "config.json", config))]
    done = _tap(*args)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    catalog = json.loads(done.stdout)
    streams = {entry["tap_stream_id"]: entry for entry in catalog["streams"]}
    assert sorted(streams) == STREAMS
    for name, entry in streams.items():
        assert set(entry["schema"]["properties"]) >= _declared_properties(name), name
    assert streams["search_results"]["replication_key"] == "doc_date"


def test_discovery_sends_no_request(emu: Emulator, tmp_path: Path) -> None:
    emu.clear_requests()
    done = _tap(
        "--discover", "--config", str(write_json(tmp_path / "c.json", {"api_url": emu.url}))
    )
    assert done.returncode == 0, done.stderr
    assert emu.requests == []


@pytest.mark.parametrize("with_config", [False, True], ids=["no-config", "empty-object"])
def test_about_needs_no_credentials(with_config: bool, tmp_path: Path) -> None:
    args = ["--about", "--format", "json"]
    if with_config:
        args += ["--config", str(write_json(tmp_path / "config.json", {}))]
    done = _tap(*args)
    assert done.returncode == 0, done.stderr
    about = json.loads(done.stdout)
    assert about["name"] == "tap-data365"
    assert "api_key" in about["settings"]["properties"]


def test_a_sync_without_api_key_still_stops_in_one_line(emu: Emulator, tmp_path: Path) -> None:
    result = run_tap(tmp_path, {"api_url": emu.url})
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == ["tap-data365: error: setting api_key is required (the Datastreamer API key)"]
    assert result.stdout == ""
