"""Helpers shared by the tests (no tests here): the one API key, the one environment scrub,
running commands, running the real tap executable (``sync``, ``run_tap``) and reading its
Singer output."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from data365_emulator import Emulator
from data365_emulator.requestlog import LoggedRequest
from tap_data365.normalize import parse_timestamp

REPO = Path(__file__).resolve().parents[2]
TAP = [sys.executable, "-m", "tap_data365"]
# The one API key and Data365 token of the tests: distinctive, so a leak anywhere in an
# output is found by a plain substring test.
API_KEY = "dsk-TEST-SECRET-4f9e1a"
TOKEN = "d365tok-TEST-SECRET-b82c"


@dataclass
class SyncResult:
    """What one tap run wrote: each stream's schema and RECORD messages, the STATE messages,
    stderr, exit code; after ``sync``, also the requests the emulator received during the run."""

    returncode: int
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    states: list[dict[str, Any]] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    requests: list[LoggedRequest] = field(default_factory=list)

    @property
    def final_state(self) -> dict[str, Any]:
        return self.states[-1] if self.states else {}

    def ids(self, stream: str = "search_results") -> list[str]:
        return [r["id"] for r in self.records.get(stream, [])]

    def duplicates(self, stream: str = "search_results") -> int:
        keys = Counter((r.get("data_source"), r["id"]) for r in self.records.get(stream, []))
        return sum(n - 1 for n in keys.values())

    def sent(self, path: str) -> list[LoggedRequest]:
        """The requests of this run whose path starts with ``path`` (after ``sync``)."""
        return [r for r in self.requests if r.path.startswith(path)]


def parse_messages(stdout: str, result: SyncResult) -> SyncResult:
    for line in stdout.splitlines():
        if not line.strip():
            continue
        message = json.loads(line)
        if message["type"] == "RECORD":
            result.records.setdefault(message["stream"], []).append(message["record"])
        elif message["type"] == "SCHEMA":
            result.schemas[message["stream"]] = message["schema"]
        elif message["type"] == "STATE":
            result.states.append(message["value"])
    return result


def write_json(path: Path, payload: Any) -> Path:
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


#: Variables that would let a developer's shell leak into a test's tap or target.
_LEAKY_PREFIXES = (
    "TAP_DATA365_", "TARGET_JSONL_", "TARGET_DUCKDB_", "TARGET_POSTGRES_", "MELTANO_",
)  # fmt: skip


def clean_env(extra: Mapping[str, str] | None = None, **more: str) -> dict[str, str]:
    """os.environ without tap/target/Meltano settings from the developer's shell, plus extra.

    The one scrub: subprocesses get this environment; in-process runs get os.environ
    scrubbed the same way (the ``no_developer_env`` fixture).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY_PREFIXES)}
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    env.update(more)
    return env


def run(
    args: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing output; on failure the error shows the command's output."""
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"command failed with exit code {proc.returncode}: {' '.join(map(str, args))}\n"
            f"--- stdout (tail)\n{proc.stdout[-4000:]}\n--- stderr (tail)\n{proc.stderr[-8000:]}",
            pytrace=False,
        )
    return proc


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
        command, capture_output=True, text=True, env=env or clean_env(), timeout=600, check=False
    )
    result = SyncResult(returncode=done.returncode, stdout=done.stdout, stderr=done.stderr)
    if done.returncode == 0:
        parse_messages(done.stdout, result)
    return result


def when(value: object) -> dt.datetime:
    """A timestamp the test expects to be readable, read with the tap's own parser."""
    moment = parse_timestamp(value)
    assert moment is not None, f"unreadable timestamp {value!r}"
    return moment


def sync(
    emu: Emulator,
    tmp_path: Path,
    state: dict[str, Any] | None = None,
    name: str = "run",
    **settings: Any,
) -> SyncResult:
    """The one sync helper: the tap run to the end against ``emu`` with the one API_KEY and
    ``settings`` on top, which must succeed. The emulator's request log is cleared first, so
    ``result.requests`` (and ``emu.requests``) hold this run's requests only."""
    emu.clear_requests()
    config = {"api_key": API_KEY, "api_url": emu.url, **settings}
    result = run_tap(tmp_path, config, state=state, name=name)
    assert result.returncode == 0, result.stderr[-3000:]
    result.requests = emu.requests
    return result
