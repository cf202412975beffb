"""Helpers for the Dagster tests: the code location in a Meltano project copy, a second worker,
an S3-compatible state store on 127.0.0.1, `dagster job execute`, and a gate that proves
sub-source steps overlap."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.helpers.pipeline import MeltanoProject, copy_project
from tests.helpers.tap import REPO, clean_env

DAGSTER = Path(sys.executable).parent / "dagster"
PLUGIN_DIRS = ("extractors", "loaders")
_DONE = re.compile(
    r"(?P<suffix>\w+): done in (?P<root>\S+), state id (?P<state>\S+); records loaded: (?P<n>.*)"
)


def with_code_location(project: MeltanoProject) -> MeltanoProject:
    """The project with this checkout's orchestration/ next to its meltano.yml."""
    target = project.root / "orchestration"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(REPO / "orchestration", target, ignore=shutil.ignore_patterns("__pycache__"))
    return project


def second_worker(project: MeltanoProject, root: Path) -> MeltanoProject:
    """Another copy of the project, as on another host: its own `.meltano/` (system
    database, run and log folders), the same installed plugins (links, to save installs)."""
    root.mkdir()
    copy_project(root)
    (root / ".meltano").mkdir()
    for kind in PLUGIN_DIRS:
        (root / ".meltano" / kind).symlink_to(project.root / ".meltano" / kind)
    return with_code_location(MeltanoProject(root, project.meltano))


def execute(
    project: MeltanoProject, home: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """`dagster job execute -f orchestration/definitions.py -j data365_all` in the project."""
    home.mkdir(exist_ok=True)
    args = [str(DAGSTER), "job", "execute", "-f", "orchestration/definitions.py", "-j",
            "data365_all"]  # fmt: skip
    full = clean_env({"DAGSTER_HOME": str(home), "MELTANO_BIN": str(project.meltano), **env})
    return subprocess.run(
        args, cwd=project.root, env=full, capture_output=True, text=True, timeout=900, check=False
    )


def output_of(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr


def loaded_per_step(output: str) -> dict[str, dict[str, int]]:
    """From the `<suffix>: done ...` line each step logs: records loaded per stream."""
    found: dict[str, dict[str, int]] = {}
    for match in _DONE.finditer(output):
        counts = match["n"].strip()
        pairs = [] if counts == "none" else [p.split("=") for p in counts.split(", ")]
        found[match["suffix"]] = {k: int(v) for k, v in pairs}
    return found


def ran_in(output: str) -> dict[str, Path]:
    """From the same lines: the project folder (copy, host) each step ran in."""
    return {m["suffix"]: Path(m["root"]) for m in _DONE.finditer(output)}


# ---------------------------------------------------------------- a tap killed mid-run


class TapKiller(threading.Thread):
    """Reads each attempt's Singer output from the FIFO the capture wrapper (conftest) copies
    it to; after ``kill_after`` records of the first attempt, hands the taps writing there to
    ``kill`` (by default: SIGKILL them). No clock: the tap cannot run ahead of this reader by
    more than the pipe buffers."""

    def __init__(
        self,
        fifo: Path,
        attempts: int,
        kill_after: int,
        kill: Callable[[list[int]], list[int]] | None = None,
    ) -> None:
        super().__init__(daemon=True)  # blocked in open() if an attempt never comes
        self.fifo = fifo
        self.attempts = attempts
        self.kill_after = kill_after
        self.kill = kill or sigkill
        self.records: list[list[str]] = []
        self.killed: list[int] = []

    def run(self) -> None:
        for attempt in range(self.attempts):
            ids: list[str] = []
            self.records.append(ids)
            with self.fifo.open() as stream:
                for line in stream:
                    if not line.endswith("\n"):
                        break  # the killed tap's last line, cut short by the SIGKILL
                    message = json.loads(line)
                    if message["type"] == "RECORD" and message["stream"] == "search_results":
                        ids.append(message["record"]["id"])
                    if attempt == 0 and len(ids) == self.kill_after:
                        self.killed.extend(self.kill(taps_writing_to(self.fifo)))

    def join_attempts(self) -> None:
        self.join(timeout=60)


def taps_writing_to(fifo: Path) -> list[int]:
    """The tap processes whose output goes to ``fifo`` (the capture wrapper's)."""
    found = []
    marker = f"DATA365_CAPTURE={fifo}".encode()
    for proc in Path("/proc").iterdir():
        try:
            if b"tap-data365.real" in (proc / "cmdline").read_bytes() and marker in (
                proc / "environ"
            ).read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return found


def sigkill(pids: list[int]) -> list[int]:
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return pids


# ---------------------------------------------------------------- S3 state backend


@contextmanager
def s3_state_store() -> Iterator[tuple[dict[str, str], Any]]:
    """An S3-compatible server (moto) on 127.0.0.1 with one bucket: Meltano's state backend
    variables for it, and a boto3 client to look inside."""
    import boto3  # noqa: PLC0415  (only these tests need it)
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        bucket = f"state-{uuid.uuid4().hex[:8]}"
        keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **keys)
        client.create_bucket(Bucket=bucket)
        env = {
            "MELTANO_STATE_BACKEND_URI": f"s3://{bucket}/meltano-state",
            "MELTANO_STATE_BACKEND_S3_ENDPOINT_URL": endpoint,
            "MELTANO_STATE_BACKEND_S3_AWS_ACCESS_KEY_ID": "testing",
            "MELTANO_STATE_BACKEND_S3_AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        yield env, (client, bucket)
    finally:
        server.stop()


def s3_states(store: tuple[Any, str]) -> dict[str, dict[str, Any]]:
    """Every state.json in the bucket, by the state id (the folder it sits in)."""
    client, bucket = store
    found = {}
    for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        key = item["Key"]
        if key.endswith("/state.json"):
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            found[key.split("/")[-2]] = json.loads(body)
    return found


# ---------------------------------------------------------------- the gate


class Gate:
    """A forwarding HTTP proxy in front of the emulator that holds each sub-source's first
    search/count request until ``quorum`` sub-sources have one held: the run gets past it
    only if that many sub-source steps are in a request at the same moment (no clock involved).
    ``most_at_once`` is the most sub-sources that had a request open together."""

    def __init__(self, upstream: str, quorum: int, timeout: float = 300) -> None:
        self.upstream = urlsplit(upstream)
        self.quorum = quorum
        self.timeout = timeout
        self.arrived: set[str] = set()
        self.open: dict[str, int] = {}
        self.most_at_once = 0
        self.timed_out = False
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Gate:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def enter(self, source: str) -> None:
        with self._cond:
            self.open[source] = self.open.get(source, 0) + 1
            self.most_at_once = max(self.most_at_once, sum(1 for n in self.open.values() if n))
            if source not in self.arrived:
                self.arrived.add(source)
                self._cond.notify_all()
                if not self._cond.wait_for(lambda: len(self.arrived) >= self.quorum, self.timeout):
                    self.timed_out = True

    def leave(self, source: str) -> None:
        with self._cond:
            self.open[source] -= 1

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        conn = http.client.HTTPConnection(self.upstream.netloc, timeout=600)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()


def _source_of(body: bytes) -> str | None:
    try:
        sources = json.loads(body)["query"]["data_sources"]
    except (ValueError, KeyError, TypeError):
        return None
    return str(sources[0]).removeprefix("data365_") if sources else None


def _handler(gate: Gate) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            source = _source_of(body) if self.command == "POST" else None
            if source:
                gate.enter(source)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                status, answer_headers, payload = gate.forward(
                    self.command, self.path, headers, body
                )
            finally:
                if source:
                    gate.leave(source)
            self.send_response(status)
            for key, value in answer_headers:
                if key.lower() not in {"content-length", "connection", "transfer-encoding"}:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _relay

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
