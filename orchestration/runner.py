"""One Meltano command from a Dagster step, in a Meltano system directory of its own.

Meltano runs a plugin from `<sys dir>/run/<plugin>/` (config, catalog and state files it
writes, reads and deletes): two `meltano run` of tap-data365 in one project at once race on
it ("tap.properties.json: No such file"). So every command gets a private
`MELTANO_SYS_DIR_ROOT` (its own `run/` and `logs/`) whose plugin folders are links to the
project's installed plugins, and the project's system database unless `MELTANO_DATABASE_URI`
names another one. Nothing is installed here (`meltano install` is done once per worker).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

#: The folders of `.meltano/` that hold installed plugins (Meltano's plugin types).
PLUGIN_DIRS = (
    "extractors", "loaders", "mappers", "utilities", "transformers", "orchestrators", "files",
)  # fmt: skip
#: The tap's own one-line error for a bad setting (exit code 2): retrying cannot help.
BAD_INPUT = "tap-data365: error:"
_TAIL_LINES = 40
#: Meltano's guard against two runs of one state id at once ("Another '<state id>' pipeline
#: is already running ..."). It holds across hosts only when they share one system database
#: (MELTANO_DATABASE_URI); Meltano itself lets go of a run that stopped sending heartbeats
#: (a killed host) after 5 minutes.
ALREADY_RUNNING = "pipeline is already running"
#: How long a step waits for the other run of its state id, and how often it looks again.
GUARD_WAIT_SECONDS = 30 * 60
GUARD_POLL_SECONDS = 10
#: A Singer target's record counter as Meltano logs it: `<plugin> METRIC: {...}`.
_METRIC = re.compile(r"\]\s+(?P<plugin>\S+)\s+METRIC: (?P<json>\{.*\})")


class MeltanoNotFound(RuntimeError):
    """Neither $MELTANO_BIN nor `meltano` on PATH."""


class MeltanoFailed(RuntimeError):
    """A Meltano command exited non-zero; the message ends with the last lines it logged."""

    def __init__(self, what: str, code: int, tail: Sequence[str]) -> None:
        self.code = code
        self.tail = list(tail)
        super().__init__(f"{what} exited {code}:\n" + "\n".join(self.tail))

    @property
    def transient(self) -> bool:
        """False for a bad setting (the tap said so in its one line): no retry will fix it."""
        return not any(BAD_INPUT in line for line in self.tail)

    @property
    def already_running(self) -> bool:
        """Another run of the same state id holds Meltano's guard; nothing was synced."""
        return any(ALREADY_RUNNING in line for line in self.tail)


@dataclasses.dataclass
class MeltanoOutput:
    """What a finished command wrote: its stdout, and the records each loaded stream got."""

    stdout: str = ""
    loaded: dict[str, int] = dataclasses.field(default_factory=dict)
    tail: collections.deque[str] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=_TAIL_LINES)
    )

    def take(self, line: str, extractor: str) -> None:
        """Note one stderr line: kept in the tail; a target's record count is added up."""
        self.tail.append(line)
        match = _METRIC.search(line)
        if match and match["plugin"] != extractor:
            metric = json.loads(match["json"])
            if metric.get("metric") == "record_count":
                stream = str(metric.get("tags", {}).get("stream"))
                self.loaded[stream] = self.loaded.get(stream, 0) + int(metric.get("value", 0))


@dataclasses.dataclass(frozen=True)
class Meltano:
    """The `meltano` executable and the project it runs in."""

    root: Path
    executable: str
    environment: str | None

    @classmethod
    def find(cls, root: Path, environment: str | None) -> Meltano:
        found = os.environ.get("MELTANO_BIN") or shutil.which("meltano")
        if not found:
            msg = "meltano not found: set MELTANO_BIN or put meltano on PATH"
            raise MeltanoNotFound(msg)
        return cls(root=root, executable=found, environment=environment)

    @property
    def shared_sys_dir(self) -> Path:
        return Path(os.environ.get("MELTANO_SYS_DIR_ROOT") or self.root / ".meltano")

    def run(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
        label: str = "meltano",
    ) -> MeltanoOutput:
        """Run `meltano ARGS`; its stderr goes to ours (Dagster's step log)."""
        command = [self.executable, *self._global_args(), *args]
        with self._private_sys_dir(label) as sys_dir:
            full_env = {**os.environ, **(env or {}), "MELTANO_SYS_DIR_ROOT": str(sys_dir)}
            full_env.setdefault("MELTANO_DATABASE_URI", self._default_database())
            proc = subprocess.Popen(
                command, cwd=self.root, env=full_env, text=True,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
            out = MeltanoOutput()
            pump = threading.Thread(target=_echo, args=(proc.stderr, out), daemon=True)
            pump.start()
            if stdin is not None and proc.stdin is not None:
                proc.stdin.write(stdin)
                proc.stdin.close()
            out.stdout = proc.stdout.read() if proc.stdout is not None else ""
            code = proc.wait()
            pump.join()
        if code != 0:
            raise MeltanoFailed(f"`meltano {' '.join(args)}`", code, out.tail)
        return out

    def _global_args(self) -> list[str]:
        return [f"--environment={self.environment}"] if self.environment else []

    def _default_database(self) -> str:
        # Meltano's default is `$MELTANO_SYS_DIR_ROOT/meltano.db`: keep the project's.
        return f"sqlite:///{self.shared_sys_dir / 'meltano.db'}"

    @contextlib.contextmanager
    def _private_sys_dir(self, label: str) -> Iterator[Path]:
        shared = self.shared_sys_dir
        base = shared / "dagster"
        base.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"{label}-", dir=base) as tmp:
            for name in PLUGIN_DIRS:
                if (shared / name).is_dir():
                    (Path(tmp) / name).symlink_to(shared / name, target_is_directory=True)
            yield Path(tmp)


def _echo(stream: IO[str] | None, out: MeltanoOutput) -> None:
    for line in stream or ():
        sys.stderr.write(line)
        out.take(line.rstrip("\n"), "tap-data365")


def run_after_the_other_run(
    meltano: Meltano,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    label: str,
    note: Callable[[str], None],
) -> MeltanoOutput:
    """`meltano run ARGS`, waiting while another run of its state id holds Meltano's guard.

    That other run is this step's own earlier attempt when a Celery worker lost the step
    (its pool process killed, the step delivered again) while the attempt's `meltano run`
    went on: starting beside it would read the same state. Waiting, not failing, keeps the
    step's retries for real failures.
    """
    deadline = time.monotonic() + GUARD_WAIT_SECONDS
    while True:
        try:
            return meltano.run(args, env=env, label=label)
        except MeltanoFailed as exc:
            if not exc.already_running or time.monotonic() > deadline:
                raise
        note(f"{label}: another run of this state id is going; next try in {GUARD_POLL_SECONDS} s")
        time.sleep(GUARD_POLL_SECONDS)
