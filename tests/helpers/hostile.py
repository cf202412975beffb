"""A small hostile API server for tests: each route answers what the test scripts.

The emulator plays a well-behaved Datastreamer API; this one plays a broken or malicious
one: redirects elsewhere, bodies that drip or stop short, huge Retry-After values, error
bodies that echo the key, posts without ids or with unreadable dates. It records every
request (with its headers) so a test can prove what was, or was not, sent.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.helpers.tap import API_KEY, TAP, clean_env, write_json

SOURCES_PATH = "/api/data-providers/data365"
SEARCH_PATH = "/api/search"


@dataclass
class Reply:
    """One answer: status, JSON (or raw bytes) body, extra headers, optional drip."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Seconds between bytes of the body (0: all at once).
    drip: float = 0.0
    #: Build the body from the request headers instead (e.g. echo the apikey).
    echo: Callable[[dict[str, str]], Any] | None = None
    #: Close the connection after this many bytes of the body (its full length promised).
    cut_after: int | None = None

    def payload(self, headers: dict[str, str]) -> bytes:
        body = self.echo(headers) if self.echo is not None else self.body
        if isinstance(body, bytes):
            return body
        return b"" if body is None else json.dumps(body).encode()


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class HostileServer:
    """``routes[(method, path)]`` → Reply (or a list of Replies, used in turn, the last kept)."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Reply | list[Reply]] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def route(self, method: str, path: str, *replies: Reply) -> None:
        self.routes[(method, path)] = list(replies)

    def serve_sources(self, *sources: str) -> None:
        """A connected-source list and an empty task list for each source."""
        self.route("GET", SOURCES_PATH, Reply(body=list(sources)))
        for source in sources:
            self.route("GET", f"{SOURCES_PATH}/{source}", Reply(body=[]))

    def reply_for(self, method: str, path: str) -> Reply:
        with self._lock:
            replies = self.routes.get((method, path))
            if replies is None:
                return Reply(404, {"message": f"no route {method} {path}"})
            if isinstance(replies, Reply):
                return replies
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


def _handler(owner: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = urlsplit(self.path).path
            headers = {k.lower(): v for k, v in self.headers.items()}
            with owner._lock:
                owner.requests.append(Seen(self.command, path, headers, body))
            reply = owner.reply_for(self.command, path)
            payload = reply.payload(headers)
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                if reply.cut_after is not None:  # Content-Length promised, then hung up
                    self.wfile.write(payload[: reply.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if reply.drip <= 0:
                    self.wfile.write(payload)
                    return
                for byte in payload:  # a server that trickles its answer
                    if owner._stop.wait(reply.drip):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            except OSError:
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler


def hits(*documents: dict[str, Any]) -> dict[str, Any]:
    """A search answer holding these documents."""
    return {"results": list(documents)}


def run_against(
    server: HostileServer, tmp_path: Path, *args: str, **settings: Any
) -> subprocess.CompletedProcess[str]:
    """The real executable against ``server``, with a timeout that a hang turns into a
    test failure."""
    config = {"api_key": API_KEY, "api_url": server.url, **settings}
    path = write_json(tmp_path / "config.json", config)
    return subprocess.run(
        [*TAP, "--config", str(path), *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )


def one_error_line(stderr: str) -> str:
    """The one error line of a failed run (no traceback, no second error)."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, stderr
    return errors[0]


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll until ``predicate`` holds (a condition, not a sleep as synchronisation)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def interrupt_mid_search(
    server: HostileServer, config: Path, signum: int
) -> subprocess.CompletedProcess[str]:
    """Run the tap, send it ``signum`` once its first search request reached ``server``, and
    return what it printed and its exit code."""
    with subprocess.Popen(
        [*TAP, "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    ) as proc:
        assert wait_for(lambda: any(r.path == SEARCH_PATH for r in server.requests))
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
