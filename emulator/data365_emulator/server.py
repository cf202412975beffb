"""HTTP mechanics: keep-alive, auth, latency, faults, request log, one write per response."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from data365_emulator import api, control
from data365_emulator.requestlog import LoggedRequest, redact

if TYPE_CHECKING:
    from data365_emulator.app import Emulator

CONTROL_PREFIX = "/_emulator"
#: The latency hook; a module attribute so tests can observe it without timing anything.
sleep = time.sleep


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    # Clients keep connections alive; joining their threads on close would hang stop().
    block_on_close = False

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
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
        if self.server.emulator.config.verbose:
            super().log_message(format, *args)

    # ------------------------------------------------------------------ one request

    def _serve(self, method: str) -> None:
        emu = self.server.emulator
        split = urlsplit(self.path)
        path = split.path
        raw = self._read_body()
        emu.live.catch_up(emu.config)  # what was found before this request is searchable
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            status, payload = control.handle(emu, method, path, raw)
            self._send(status, payload)
            return
        cfg = emu.config
        query = dict(parse_qsl(split.query, keep_blank_values=True)) if split.query else None
        body, body_ok = _decode(raw)
        logged_body = redact(body) if isinstance(body, dict) else None
        # The slot is held through the latency and given back before the answer is written.
        admitted = emu.gate.enter(cfg.max_in_flight)
        if cfg.latency_ms > 0:
            sleep(cfg.latency_ms / 1000)  # simulated network/server delay
        headers: tuple[str, ...] = ()
        fault = emu.faults.next_fault(cfg) if admitted else None
        if fault == "drop":
            emu.gate.leave()
            emu.log.add(LoggedRequest(method, path, 0, query, logged_body))
            self._drop()
            return
        if not admitted:
            status, payload = api.reply(429, {"message": "too many requests in flight"})
            headers = (f"Retry-After: {_seconds(cfg.retry_after)}",)
        elif fault is not None:
            status, payload = api.reply(int(fault), {"message": f"simulated {fault} fault"})
            if fault == "429":
                headers = (f"Retry-After: {_seconds(cfg.retry_after)}",)
        elif cfg.reject_key or self.headers.get("apikey") != cfg.api_key:
            status, payload = api.reply(401, {"message": "Unauthorized"})
        elif not body_ok:
            status, payload = api.reply(400, {"message": "request body is not valid JSON"})
        else:
            status, payload = api.handle(emu, method, path, body)
        if admitted:
            emu.gate.leave()
        emu.log.add(LoggedRequest(method, path, status, query, logged_body))
        self._send(status, payload, headers)
        if cfg.verbose:
            self.log_message('"%s %s" %d', method, path, status)

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
