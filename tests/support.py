"""Running the real tap executable and reading its Singer output, for the tap's tests."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tap_data365.normalize import parse_timestamp

TAP = [sys.executable, "-m", "tap_data365"]
API_KEY = "emulator-key-7f3a9c"
TOKEN = "d365-token-5b1e"


@dataclass
class SyncResult:
    """What one tap run wrote: RECORD messages per stream, STATE messages, stderr, exit code."""

    returncode: int
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    states: list[dict[str, Any]] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""

    @property
    def final_state(self) -> dict[str, Any]:
        return self.states[-1] if self.states else {}

    def ids(self, stream: str = "search_results") -> list[str]:
        return [r["id"] for r in self.records.get(stream, [])]

    def duplicates(self, stream: str = "search_results") -> int:
        keys = Counter((r.get("data_source"), r["id"]) for r in self.records.get(stream, []))
        return sum(n - 1 for n in keys.values())


def parse_messages(stdout: str, result: SyncResult) -> SyncResult:
    for line in stdout.splitlines():
        if not line.strip():
            continue
        message = json.loads(line)
        if message["type"] == "RECORD":
            result.records.setdefault(message["stream"], []).append(message["record"])
        elif message["type"] == "STATE":
            result.states.append(message["value"])
    return result


def write_json(path: Path, payload: Any) -> Path:
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


def tap_env(**extra: str) -> dict[str, str]:
    """The environment without any TAP_DATA365_* variable of the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_DATA365_")}
    env.update(extra)
    return env


def run_tap(
    tmp_path: Path,
    config: dict[str, Any],
    *,
    state: dict[str, Any] | None = None,
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
    name: str = "run",
) -> SyncResult:
    """Run ``python -m tap_data365 --config … [--state …]`` to the end."""
    command = [*TAP, "--config", str(write_json(tmp_path / f"{name}-config.json", config))]
    if state is not None:
        command += ["--state", str(write_json(tmp_path / f"{name}-state.json", state))]
    command += args or []
    done = subprocess.run(
        command, capture_output=True, text=True, env=env or tap_env(), timeout=600, check=False
    )
    result = SyncResult(returncode=done.returncode, stdout=done.stdout, stderr=done.stderr)
    if done.returncode == 0:
        parse_messages(done.stdout, result)
    return result


def select_streams(tmp_path: Path, config: dict[str, Any], streams: set[str]) -> list[str]:
    """Arguments for a catalog that selects only ``streams``."""
    done = subprocess.run(
        [
            *TAP,
            "--config",
            str(write_json(tmp_path / "discover-config.json", config)),
            "--discover",
        ],
        capture_output=True,
        text=True,
        env=tap_env(),
        check=True,
    )
    catalog = json.loads(done.stdout)
    for entry in catalog["streams"]:
        chosen = entry["tap_stream_id"] in streams
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = chosen
    return ["--catalog", str(write_json(tmp_path / "catalog.json", catalog))]


def when(value: object) -> dt.datetime:
    """A timestamp the test expects to be readable, read with the tap's own parser."""
    moment = parse_timestamp(value)
    assert moment is not None, f"unreadable timestamp {value!r}"
    return moment
