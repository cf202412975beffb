"""One incremental sync of the tap in its own process, as the soak benchmarks run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def tap_sync(workdir: Path, state: dict[str, Any] | None, config: dict[str, Any],
             tap_root: Path | None = None) -> tuple[list[str], dict[str, Any], str]:  # fmt: skip
    """The search_results ids one sync emitted, its last STATE and its stderr.

    ``tap_root``: the tap of another checkout, first on the path and the working directory
    (``python -m`` puts the working directory first, so this checkout's tap would win)."""
    (workdir / "config.json").write_text(json.dumps(config))
    command = [sys.executable, "-m", "tap_data365", "--config", str(workdir / "config.json")]
    if state is not None:
        (workdir / "state.json").write_text(json.dumps(state))
        command += ["--state", str(workdir / "state.json")]
    env = dict(os.environ)
    if tap_root is not None:
        env["PYTHONPATH"] = str(tap_root)
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env,
                          cwd=tap_root or Path.cwd())  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"tap failed: {done.stderr[-2000:]}")
    ids: list[str] = []
    final: dict[str, Any] = {}
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD" and message["stream"] == "search_results":
            ids.append(message["record"]["id"])
        elif message["type"] == "STATE":
            final = message["value"]
    return ids, final, done.stderr
