"""`meltano invoke tap-data365:setup` end to end: the project's meltano.yml, settings from the
environment Meltano exports (`setup --config ENV`), the emulator as the API.

The plugin's virtualenv is a stand-in directory whose `tap-data365` runs this checkout with
the test's interpreter, so no `meltano install` (PyPI) is needed. Meltano still tries to
install on invoke; uv refuses to clear a directory that is not a virtualenv, Meltano logs
that and goes on. Never point the stand-in at a real virtualenv: uv would recreate it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from data365_emulator import Emulator
from tests.helpers.setup import (
    TASKS,
    creates,
)
from tests.helpers.tap import API_KEY, REPO, TOKEN, clean_env


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(REPO / "meltano.yml", tmp_path / "meltano.yml")
    bin_dir = tmp_path / ".meltano" / "extractors" / "tap-data365" / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    shim = bin_dir / "tap-data365"
    shim.write_text(
        f'#!/bin/sh\ncd "{REPO}" && exec "{sys.executable}" -m tap_data365 "$@"\n',
        encoding="utf-8",
    )
    shim.chmod(0o755)
    return tmp_path


def _invoke(
    meltano: Path, project: Path, emu: Emulator, *args: str
) -> subprocess.CompletedProcess[str]:
    import json  # noqa: PLC0415

    env = clean_env(
        {
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "TAP_DATA365_API_KEY": API_KEY,
            "TAP_DATA365_API_URL": emu.url,
            "TAP_DATA365_DATA365_TOKEN": TOKEN,
            "TAP_DATA365_TASKS": json.dumps(TASKS),
        }
    )
    done = subprocess.run(
        [str(meltano), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    for secret in (API_KEY, TOKEN):
        assert secret not in done.stdout
        assert secret not in done.stderr
    return done


def test_meltano_invoke_setup_end_to_end(meltano_bin: Path, project: Path, emu: Emulator) -> None:
    first = _invoke(meltano_bin, project, emu, "invoke", "tap-data365:setup")

    assert first.returncode == 0, first.stderr[-3000:]
    assert "3 declared task(s): 3 created + started; token registered" in first.stdout
    assert len(creates(emu)) == 2
    emu.clear_requests()

    # Second run, at debug level: nothing created, and still no secret in any output.
    second = _invoke(meltano_bin, project, emu, "--log-level=debug", "invoke", "tap-data365:setup")

    assert second.returncode == 0, second.stderr[-3000:]
    assert "3 declared task(s): 3 kept; token registered" in second.stdout
    assert creates(emu) == []


def test_meltano_invoke_setup_plan_writes_nothing(
    meltano_bin: Path, project: Path, emu: Emulator
) -> None:
    done = _invoke(meltano_bin, project, emu, "invoke", "tap-data365:setup-plan")

    assert done.returncode == 0, done.stderr[-3000:]
    assert "would create + start" in done.stdout
    assert [r for r in emu.requests if r.method != "GET"] == []
