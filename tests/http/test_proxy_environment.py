"""Proxies from the environment still carry the requests, read once per run.

The transport (``http/connection.py``) reads the proxies from the environment once, as
requests would for the API's URL, instead of on every request. A stand-in proxy on
127.0.0.1 answers for an API host that does not resolve: the request only succeeds if it
went through the proxy; with the host in NO_PROXY it goes direct, and fails.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tap_data365.errors import Data365Error
from tap_data365.http.transport import Transport
from tap_data365.settings import ApiSettings
from tests.helpers.tap import API_KEY

#: Reserved (RFC 2606): never resolves, so only a proxy can answer for it.
API_URL = "http://api.data365.invalid"


class _Proxy(BaseHTTPRequestHandler):
    seen: list[str] = []  # noqa: RUF012  (one test server, one list)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.seen.append(f"{self.path} apikey={self.headers.get('apikey') == API_KEY}")
        body = json.dumps({"results": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def proxy_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Proxy.seen.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _search(transport: Transport) -> object:
    return transport.request("POST", "/api/search", "searching", body={"query": {}})


def test_requests_go_through_the_proxy_from_the_environment(
    proxy_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    transport = Transport(ApiSettings(API_URL, API_KEY, max_retries=0))
    assert _search(transport) == {"results": []}
    assert _search(transport) == {"results": []}  # the same session, the same proxy
    assert _Proxy.seen == [f"{API_URL}/api/search apikey=True"] * 2


def test_no_proxy_still_sends_the_api_host_direct(
    proxy_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("NO_PROXY", "api.data365.invalid")
    transport = Transport(ApiSettings(API_URL, API_KEY, max_retries=0))
    with pytest.raises(Data365Error):
        _search(transport)
    assert _Proxy.seen == []
