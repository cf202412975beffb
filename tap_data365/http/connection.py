"""The connections to the API: one urllib3 pool for every thread of a run, proxies and CA
bundle read from the environment once.

``requests`` cost 0.49 ms of CPU per 100-post search page (its session merges settings,
prepares, hooks and adapts every request) against 0.19 ms for the same request through the
urllib3 pool it drives: 3 us a post, a tenth of a sync. So the transport sends through
urllib3 directly, as requests would send it: the same default headers (gzip, keep-alive),
the proxy ``requests`` picks for the API's URL (``HTTP(S)_PROXY``/``ALL_PROXY`` with
``NO_PROXY``), the CA bundle it trusts (``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``, else
certifi's), ``request_timeout`` for the connection and each read, and urllib3's errors
turned into the ``requests`` exceptions the retry policy and the messages are written
against (what ``HTTPAdapter.send`` raises). Redirects are never followed and urllib3 never
retries: ``transport.py`` does.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import requests
import urllib3
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_auth_from_url, get_environ_proxies
from requests.utils import select_proxy as requests_proxy_for
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

#: Connections kept open per host: more than the tap's workers ever use at once.
POOL_SIZE = 32


@dataclass(frozen=True)
class Sent:
    """An answer whose status line and headers have come; its body is still to be read."""

    raw: urllib3.BaseHTTPResponse
    url: str
    #: Seconds from sending to the headers (what requests calls ``elapsed``).
    elapsed: float


class Connections:
    """Thread-safe; sends requests to one API (``base_url``) with the given headers."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float) -> None:
        self._base_url = base_url
        self._base_path = urlsplit(base_url).path.rstrip("/")
        self._headers = {**urllib3.util.make_headers(keep_alive=True, accept_encoding=True),
                         "Accept": "*/*", **headers}  # fmt: skip
        self._json_headers = {**self._headers, "Content-Type": "application/json"}
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)
        proxy = requests_proxy_for(base_url, get_environ_proxies(base_url))
        self._manager = _manager(proxy)
        #: Without a proxy the pool is asked directly (the manager's URL parsing and
        #: routing per request are a fifth of its cost); through one, the manager forms
        #: the request as the proxy needs it.
        self._pool = None if proxy else self._manager.connection_from_url(base_url)

    def close(self) -> None:
        self._manager.clear()

    def send(self, method: str, path: str, body: object) -> Sent:
        """Send one request (``body`` as JSON unless None); urllib3's errors as requests'."""
        url = self._base_url + path
        payload = None if body is None else msgspec.json.encode(body)
        options: dict[str, Any] = {
            "body": payload,
            "headers": self._headers if payload is None else self._json_headers,
            "timeout": self._timeout,
            "retries": False,
            "redirect": False,
            "preload_content": False,
        }
        started = time.monotonic()
        try:
            if self._pool is not None:
                raw = self._pool.urlopen(method, self._base_path + path, **options)
            else:
                raw = self._manager.urlopen(method, url, **options)
        except Exception as exc:  # mapped, or re-raised as it came
            raise as_requests_error(exc) from exc
        return Sent(raw, url, time.monotonic() - started)


def as_requests_error(exc: Exception) -> Exception:
    """urllib3's error as the ``requests`` exception ``HTTPAdapter.send`` would raise."""
    if isinstance(exc, ReadTimeoutError):
        return requests.exceptions.ReadTimeout(exc)
    if isinstance(exc, ConnectTimeoutError) and not isinstance(exc, NewConnectionError):
        return requests.exceptions.ConnectTimeout(exc)
    if isinstance(exc, ProxyError):
        return requests.exceptions.ProxyError(exc)
    if isinstance(exc, SSLError):
        return requests.exceptions.SSLError(exc)
    if isinstance(exc, ProtocolError | OSError | urllib3.exceptions.HTTPError):
        return requests.exceptions.ConnectionError(exc)
    return exc


def _manager(proxy: str | None) -> urllib3.PoolManager:
    """The pool manager for the API: through ``proxy`` when there is one, verifying TLS
    against the bundle requests would use."""
    tls: dict[str, Any] = {"cert_reqs": "CERT_REQUIRED"}
    bundle = (
        os.environ.get("REQUESTS_CA_BUNDLE")
        or os.environ.get("CURL_CA_BUNDLE")
        or DEFAULT_CA_BUNDLE_PATH
    )
    tls["ca_cert_dir" if Path(bundle).is_dir() else "ca_certs"] = bundle
    sizes: dict[str, Any] = {"num_pools": 4, "maxsize": POOL_SIZE}
    if not proxy:
        return urllib3.PoolManager(**sizes, **tls)
    if proxy.lower().startswith("socks"):
        from urllib3.contrib.socks import SOCKSProxyManager  # noqa: PLC0415  (PySocks)

        username, password = get_auth_from_url(proxy)
        return SOCKSProxyManager(proxy, username or None, password or None, **sizes, **tls)
    username, password = get_auth_from_url(proxy)
    proxy_headers = (
        urllib3.util.make_headers(proxy_basic_auth=f"{username}:{password}") if username else None
    )
    return urllib3.ProxyManager(proxy, proxy_headers=proxy_headers, **sizes, **tls)
