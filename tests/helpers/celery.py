"""Helpers for the tests of `data365_all_celery`: a launcher and Celery workers, each in its own
copy of the project that cannot see the others' files, on one Redis, one PostgreSQL and one
S3-compatible store (moto), as on several hosts.

Each worker runs in a private mount namespace (`unshare --mount`) in which the launcher's copy
and the other workers' copies are covered by an empty tmpfs: a worker that reached for another
copy's files would fail, not quietly use them.
"""

from __future__ import annotations

import itertools
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.helpers.orchestration import second_worker
from tests.helpers.pipeline import MeltanoProject
from tests.helpers.tap import REPO, clean_env

BIN = Path(sys.executable).parent
JOB = "data365_all_celery"
#: Each test its own pair of Redis databases (broker, results): no message of one test
#: reaches another's workers.
_REDIS_DATABASES = itertools.count(1, 2)


def new_database(pg_url: str, prefix: str) -> str:
    """A new PostgreSQL database on the test server; its libpq URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    return f"{pg_url.rsplit('/', 1)[0]}/{name}"


def shared_env(
    pg_url: str, redis_url: str, s3_env: Mapping[str, str], bucket: str
) -> dict[str, str]:
    """What the launcher and every worker share: broker, Dagster instance, step outputs,
    Meltano's system database (its "already running" guard holds across hosts only there)."""
    broker = next(_REDIS_DATABASES)
    endpoint = s3_env["MELTANO_STATE_BACKEND_S3_ENDPOINT_URL"]
    meltano_db = new_database(pg_url, "meltano")
    return {
        **s3_env,
        "DAGSTER_CELERY_BROKER_URL": f"{redis_url}/{broker}",
        "DAGSTER_CELERY_BACKEND_URL": f"{redis_url}/{broker + 1}",
        # psycopg2: what dagster-postgres brings (SQLAlchemy's default driver may be another).
        "DAGSTER_PG_URL": new_database(pg_url, "dagster").replace(
            "postgresql://", "postgresql+psycopg2://", 1
        ),
        "DAGSTER_IO_S3_URI": f"s3://{bucket}/dagster-io",
        "DAGSTER_COMPUTE_LOGS_BUCKET": bucket,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "MELTANO_DATABASE_URI": meltano_db.replace("postgresql://", "postgresql+psycopg://", 1),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def dagster_home(folder: Path) -> Path:
    """A $DAGSTER_HOME with orchestration/dagster.yaml, as each host has its own."""
    folder.mkdir()
    shutil.copy2(REPO / "orchestration" / "dagster.yaml", folder / "dagster.yaml")
    return folder


class Worker:
    """`dagster-celery worker start` in its own copy, the other copies hidden; one step at a
    time (`-c 1`), so a second step at once can only be another worker's."""

    def __init__(
        self,
        copy: MeltanoProject,
        hidden: list[Path],
        env: Mapping[str, str],
        new_line: threading.Condition,
    ) -> None:
        self.copy = copy
        self.name = copy.root.name
        home = dagster_home(copy.root.parent / f"{self.name}-home")
        start = [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
                 "-y", "orchestration/celery.yaml", "-n", self.name, "--", "-c", "1"]  # fmt: skip
        hide = " && ".join(f"mount -t tmpfs hidden {shlex.quote(str(p))}" for p in hidden)
        script = f"{hide} && exec {shlex.join(start)}"
        # Started in its copy, as on its host: Celery puts the current folder on sys.path, so
        # the code location imported is this copy's (the launcher's folder is hidden here).
        full = clean_env({**env, "DAGSTER_HOME": str(home), "MELTANO_BIN": str(copy.meltano)})
        self.lines: list[str] = []
        self.new_line = new_line  # shared by the workers of a test (wait_for_line)
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "bash", "-c", script],
            cwd=copy.root, env=full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.new_line:
                self.lines.append(line)
                self.new_line.notify_all()
            if f"{self.name}@" in line and " ready." in line:
                self._ready.set()
        self._ready.set()  # the worker ended: wait_ready reports it

    def wait_ready(self) -> None:
        """Until Celery says the worker is consuming (its own line, not a clock)."""
        self._ready.wait(timeout=300)
        assert self.proc.poll() is None, "worker ended:\n" + "".join(self.lines[-60:])

    def stop(self) -> None:
        """Warm shutdown of the worker's whole process group (ours, started above)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=60)
        self._reader.join(timeout=60)


def _argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def _is_celery(pid: int) -> bool:
    """A `celery ... worker` process (the program's name, not a path that says celery)."""
    return any(Path(arg).name == "celery" for arg in _argv(pid)[:2])


def _is_celery_pool(pid: int) -> bool:
    """A prefork child: a celery process whose parent is the celery main process."""
    return _is_celery(pid) and _is_celery(_parent(pid))


def pool_process_of(pid: int) -> int:
    """The Celery pool process that ``pid`` (a tap under a step) descends from."""
    current = pid
    while current > 1:
        if _is_celery_pool(current):
            return current
        current = _parent(current)
    msg = f"process {pid} runs under no Celery pool process"
    raise LookupError(msg)


@contextmanager
def workers(
    copies: list[MeltanoProject], launcher: Launcher, env: Mapping[str, str]
) -> Iterator[list[Worker]]:
    """One worker per copy, each with the launcher's and the other copies' folders hidden."""
    started: list[Worker] = []
    new_line = threading.Condition()
    try:
        for copy in copies:
            others = [c.root for c in copies if c is not copy]
            started.append(Worker(copy, [launcher.root, *others], env, new_line))
        for worker in started:
            worker.wait_ready()
        yield started
    finally:
        for worker in started:
            worker.stop()


def wait_for_line(started: list[Worker], text: str, timeout: float = 300) -> bool:
    """Until any of the workers (a step on it) prints a line containing ``text``."""
    with started[0].new_line:
        return started[0].new_line.wait_for(
            lambda: any(text in line for w in started for line in w.lines), timeout
        )


def project_copies(project: MeltanoProject, base: Path, names: list[str]) -> list[MeltanoProject]:
    """Copies of the project, each with its own `.meltano/` (installed plugins linked)."""
    base.mkdir()
    return [second_worker(project, base / name) for name in names]


class Launcher:
    """The launcher's copy with its own $DAGSTER_HOME; it creates the Dagster instance's
    tables (`dagster instance migrate`) before any worker starts, as done once per instance:
    workers starting together on an empty database race to create them."""

    def __init__(self, copy: MeltanoProject, env: Mapping[str, str]) -> None:
        self.copy = copy
        self.root = copy.root
        home = dagster_home(copy.root.parent / "launcher-home")
        self.env = clean_env({**env, "DAGSTER_HOME": str(home), "MELTANO_BIN": str(copy.meltano)})
        self._dagster("instance", "migrate", timeout=300).check_returncode()

    def launch(self) -> subprocess.CompletedProcess[str]:
        """`dagster job execute -m orchestration.definitions -j data365_all_celery`."""
        return self._dagster("job", "execute", "-m", "orchestration.definitions", "-j", JOB)

    def _dagster(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "dagster"), *args], cwd=self.root, env=self.env, capture_output=True,
            text=True, timeout=timeout, check=False,
        )  # fmt: skip


def run_events(dagster_pg_url: str) -> list[tuple[str, str, str]]:
    """Every event of the Dagster event log (the test instance's one run), in order, as
    (step key, event type, message): what the steps did on whichever worker ran them."""
    with psycopg.connect(dagster_pg_url.replace("+psycopg2", "")) as con:
        rows = con.execute("SELECT event FROM event_logs ORDER BY id").fetchall()
    found = []
    for (body,) in rows:
        entry = json.loads(body)
        kind = (entry.get("dagster_event") or {}).get("event_type_value") or ""
        found.append((entry.get("step_key") or "", kind, entry.get("user_message") or ""))
    return found


def run_messages(dagster_pg_url: str) -> str:
    """The messages of every event, one a line."""
    return "\n".join(message for _, _, message in run_events(dagster_pg_url))
