"""HTTP mechanics: keep-alive, auth, latency, faults, request log, one write per response.

The server is handed what answers a request (``Routes``): it knows no endpoint itself.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from data365_emulator.config import EmulatorConfig
from data365_emulator.faults import FaultInjector
from data365_emulator.inflight import InFlightGate
from data365_emulator.replies import Reply, message
from data365_emulator.requestlog import LoggedRequest, RequestLog, redact

CONTROL_PREFIX = "/_emulator"
#: The latency hook; a module attribute so tests can observe it without timing anything.
sleep = time.sleep


@dataclass(frozen=True)
class Routes:
    """What the server is handed: the settings of the moment, the two planes, and the state
    its own mechanics keep (the in-flight gate, the fault plan, the request log)."""

    config: Callable[[], EmulatorConfig]
    #: Runs first on every request (the live feed adds what was found before it).
    before_each: Callable[[], object]
    #: ``/_emulator/*`` as (method, path, raw body): no apikey, never faulted nor logged.
    control: Callable[[str, str, bytes], Reply]
    #: The Datastreamer API as (settings, method, path, decoded JSON body), once authenticated.
    api: Callable[[EmulatorConfig, str, str, object], Reply]
    gate: InFlightGate
    faults: FaultInjector
    log: RequestLog


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    # Clients keep connections alive; joining their threads on close would hang stop().
    block_on_close = False

    def __init__(self, address: tuple[str, int], routes: Routes) -> None:
        self.routes = routes
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End kept-alive connections so a stopped emulator answers nothing more."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without this, header and body leave in separate segments and delayed ACK stalls
    # every keep-alive response by ~40 ms (see DESIGN.md).
    disable_nagle_algorithm = True
    server: EmulatorServer

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.routes.config().verbose:
            super().log_message(format, *args)

    # ------------------------------------------------------------------ one request

    def _serve(self, method: str) -> None:
        routes = self.server.routes
        split = urlsplit(self.path)
        path = split.path
        raw = self._read_body()
        routes.before_each()
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            status, payload = routes.control(method, path, raw)
            self._send(status, payload)
            return
        cfg = routes.config()
        query = dict(parse_qsl(split.query, keep_blank_values=True)) if split.query else None
        body, body_ok = _decode(raw)
        logged_body = redact(body) if isinstance(body, dict) else None
        # The slot is held through the latency and given back before the answer is written.
        admitted = routes.gate.enter(cfg.max_in_flight)
        if cfg.latency_ms > 0:
            sleep(cfg.latency_ms / 1000)  # simulated network/server delay
        fault = routes.faults.next_fault(cfg) if admitted else None
        if fault == "drop":
            routes.gate.leave()
            routes.log.add(LoggedRequest(method, path, 0, query, logged_body))
            self._drop()
            return
        status, payload, headers = self._answer(cfg, admitted, fault, (method, path, body_ok, body))
        if admitted:
            routes.gate.leave()
        routes.log.add(LoggedRequest(method, path, status, query, logged_body))
        self._send(status, payload, headers)
        if cfg.verbose:
            self.log_message('"%s %s" %d', method, path, status)

    def _answer(
        self,
        cfg: EmulatorConfig,
        admitted: bool,
        fault: str | None,
        request: tuple[str, str, bool, object],
    ) -> tuple[int, bytes, tuple[str, ...]]:
        """Refused, faulted, unauthorised, unreadable, or the API's own answer, in that order."""
        method, path, body_ok, body = request
        retry_after = (f"Retry-After: {_seconds(cfg.retry_after)}",)
        if not admitted:
            return (*message(429, "too many requests in flight"), retry_after)
        if fault is not None:
            status, payload = message(int(fault), f"simulated {fault} fault")
            return status, payload, retry_after if fault == "429" else ()
        if cfg.reject_key or self.headers.get("apikey") != cfg.api_key:
            return (*message(401, "Unauthorized"), ())
        if not body_ok:
            return (*message(400, "request body is not valid JSON"), ())
        return (*self.server.routes.api(cfg, method, path, body), ())

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunks()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunks(self) -> bytes:
        """requests streams generator bodies chunked; read them so keep-alive stays in sync."""
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # CRLF after each chunk

    def _send(self, status: int, payload: bytes, headers: tuple[str, ...] = ()) -> None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        lines = [
            f"HTTP/1.1 {status} {phrase}",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            *headers,
        ]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + payload)  # one write: one segment for small replies
        except OSError:
            self.close_connection = True

    def _drop(self) -> None:
        """Close the socket without a byte of response (a crashed proxy, a cut line)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _decode(raw: bytes) -> tuple[Any, bool]:
    if not raw.strip():
        return None, True
    try:
        return json.loads(raw), True
    except ValueError:
        return None, False


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
