"""The one set of shared fixtures; the helpers they use live in tests/helpers/.

The one API key is ``tests.helpers.tap.API_KEY``, the one way to start an emulator is
``tests.helpers.emulator.start_emulator`` (the ``emu`` fixture here, or a module's own fixture
for its own data), and the one way to sync is ``tests.helpers.tap.sync`` (``run_tap`` when a
test writes the whole configuration itself).

Meltano, PostgreSQL and Redis are not optional: a test that needs one fails (never skips) when
it is missing. `bash scripts/test.sh` installs Meltano, starts a private PostgreSQL server and a
Redis server, and exports `MELTANO_BIN`, `TAP_DATA365_TEST_PG_URL` (plus the libpq `PG*`
variables) and `TAP_DATA365_TEST_REDIS_URL`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from data365_emulator import Emulator
from tests.helpers.emulator import start_emulator
from tests.helpers.pipeline import CAPTURE_WRAPPER, MeltanoProject, copy_project
from tests.helpers.tap import clean_env


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


def _server_url(variable: str, what: str) -> str:
    url = os.environ.get(variable)
    if not url:
        pytest.fail(
            f"no {what} server: run the tests with `bash scripts/test.sh` (it starts one), "
            f"or set {variable}",
            pytrace=False,
        )
    return url


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A PostgreSQL URL for the target-postgres tests; missing is a failure."""
    return _server_url("TAP_DATA365_TEST_PG_URL", "PostgreSQL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis URL (no database number) for the Celery job's tests; missing is a failure."""
    return _server_url("TAP_DATA365_TEST_REDIS_URL", "Redis")


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


@pytest.fixture
def no_developer_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """os.environ scrubbed as clean_env scrubs a subprocess's, for in-process runs."""
    kept = clean_env()
    for name in list(os.environ):
        if name not in kept:
            monkeypatch.delenv(name)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A running emulator with its defaults (modules needing other data define their own)."""
    with start_emulator() as emulator:
        yield emulator
