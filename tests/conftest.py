"""Shared fixtures: emulators, subprocesses, and the external tools scripts/test.sh provides.

Meltano and PostgreSQL are not optional: a test that needs one fails (never skips) when it is
missing. `bash scripts/test.sh` installs Meltano, starts a private PostgreSQL server and exports
`MELTANO_BIN` and `TAP_DATA365_TEST_PG_URL` (plus the libpq `PG*` variables).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tap_data365.emulator import Emulator, EmulatorConfig

REPO = Path(__file__).resolve().parent.parent
#: The project files a Meltano project copy needs (the tap is installed from it, editable).
PROJECT_FILES = ("meltano.yml", "pyproject.toml", "README.md", "tap_data365", "schemas")


def copy_project(root: Path) -> None:
    """Copy the files a Meltano project or a package build needs into ``root``."""
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)


#: Variables that would let a developer's shell leak into a test's tap or target.
_LEAKY_PREFIXES = (
    "TAP_DATA365_", "TARGET_JSONL_", "TARGET_DUCKDB_", "TARGET_POSTGRES_", "MELTANO_",
)  # fmt: skip


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A running emulator with the default seeded data (api key ``test-key``)."""
    with Emulator(EmulatorConfig(api_key="test-key")) as emu:
        yield emu


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators with EmulatorConfig fields as keyword arguments; all stopped after."""
    started: list[Emulator] = []

    def make(**config: Any) -> Emulator:
        emu = Emulator(EmulatorConfig(**{"api_key": "test-key", **config})).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ without tap/target/Meltano settings from the developer's shell, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY_PREFIXES)}
    env["NO_COLOR"] = "1"
    env.update(extra or {})
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


@pytest.fixture(scope="session")
def meltano_bin() -> Path:
    """The Meltano executable: $MELTANO_BIN, else `meltano` on PATH; missing is a failure."""
    found = os.environ.get("MELTANO_BIN") or shutil.which("meltano")
    if not found or not Path(found).is_file():
        pytest.fail(
            "Meltano not found: run the tests with `bash scripts/test.sh`, or set MELTANO_BIN",
            pytrace=False,
        )
    return Path(found)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A PostgreSQL URL for the target-postgres tests; missing is a failure."""
    url = os.environ.get("TAP_DATA365_TEST_PG_URL")
    if not url:
        pytest.fail(
            "no PostgreSQL server: run the tests with `bash scripts/test.sh` (it starts one), "
            "or set TAP_DATA365_TEST_PG_URL",
            pytrace=False,
        )
    return url


#: Installed over the extractor's console script in the test project: a test that sets
#: DATA365_CAPTURE gets a copy of every Singer message the tap wrote to the target.
CAPTURE_WRAPPER = """#!/usr/bin/env bash
# tests/conftest.py: copy the tap's Singer output to $DATA365_CAPTURE (sync runs only).
real="$(dirname "$0")/tap-data365.real"
if [[ -z "${DATA365_CAPTURE:-}" || "${1:-}" == setup || " $* " == *" --discover "* \\
      || " $* " == *" --about "* ]]; then
    exec "$real" "$@"
fi
set -o pipefail
"$real" "$@" | tee "$DATA365_CAPTURE"
"""


class MeltanoProject:
    """A copy of this repository's Meltano project in a temporary directory."""

    def __init__(self, root: Path, meltano: Path) -> None:
        self.root = root
        self.meltano = meltano

    def command(self, *args: str) -> list[str]:
        return [str(self.meltano), *args]

    def run(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        return run(self.command(*args), cwd=self.root, env=clean_env(env), timeout=timeout)

    def plugin_python(self, plugin_type: str, name: str) -> Path:
        """The Python of an installed plugin's virtualenv (e.g. to read what a target wrote)."""
        return self.root / ".meltano" / plugin_type / name / "venv" / "bin" / "python"


@pytest.fixture(scope="session")
def meltano_project(meltano_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> MeltanoProject:
    """This repository's meltano.yml, with every plugin installed once per test session.

    A copy, so tests never write .meltano/, state or output into the checkout. Runs should
    pass `--no-install` (a reinstall would remove the capture wrapper).
    """
    root = tmp_path_factory.mktemp("meltano-project")
    copy_project(root)
    project = MeltanoProject(root, meltano_bin)
    project.run("install", timeout=1800)
    tap = root / ".meltano" / "extractors" / "tap-data365" / "venv" / "bin" / "tap-data365"
    tap.rename(tap.with_name("tap-data365.real"))
    tap.write_text(CAPTURE_WRAPPER)
    tap.chmod(0o755)
    return project
