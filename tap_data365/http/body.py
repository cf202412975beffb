"""Reading a response body within a deadline, for the tap's client and the setup client.

A timeout bounds each socket read, not the response: a server that drips one byte a second
keeps a request alive for ever. The transport sends without reading the body
(``preload_content=False``) and reads it here, which stops at ``request_timeout`` after the
request was sent.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests
import urllib3
from requests.utils import get_encoding_from_headers
from urllib3 import HTTPHeaderDict

if TYPE_CHECKING:
    from tap_data365.http.connection import Sent

_CHUNK = 1 << 20


class BodyCutOff(requests.exceptions.ChunkedEncodingError):
    """The status line and headers came, then the connection ended before the whole body.

    Retried like a dropped connection, but named apart: the server did answer, so "no
    answer" would send the user looking in the wrong place.
    """

    def __init__(self, status: int, received: int, promised: str | None) -> None:
        self.status = status
        of = f" of {promised}" if promised else ""
        #: How much of the body came, e.g. "5 of 130 bytes".
        self.received = f"{received}{of} bytes"
        super().__init__(f"HTTP {status} body cut off after the headers ({self.received})")


@dataclass(frozen=True)
class Answer:
    """A whole answer: what the retry policy, the error messages and the metrics read."""

    status_code: int
    headers: HTTPHeaderDict
    content: bytes
    url: str
    #: From sending the request to its headers, as requests' ``Response.elapsed``.
    elapsed: dt.timedelta

    @property
    def text(self) -> str:
        """The body as text, decoded as requests would (the declared charset, ISO-8859-1
        for text without one, else UTF-8), undecodable bytes replaced: for messages only."""
        charset = get_encoding_from_headers(self.headers) or "utf-8"
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")


def read_within(sent: Sent, deadline: float) -> Answer:
    """Read the whole body before ``deadline`` (time.monotonic()), or raise requests.Timeout.

    The connection goes back to the pool once the body is read, and is closed on failure.
    """
    response = sent.raw
    chunks: list[bytes] = []
    while True:
        if time.monotonic() > deadline:
            _discard(response)
            raise requests.exceptions.ReadTimeout(
                "the response body did not arrive within request_timeout"
            )
        chunk = _read_some(response)
        if not chunk:
            break
        chunks.append(chunk)
    response.release_conn()  # back to the keep-alive pool
    elapsed = dt.timedelta(seconds=sent.elapsed)
    return Answer(response.status, response.headers, b"".join(chunks), sent.url, elapsed)


def _discard(response: urllib3.BaseHTTPResponse) -> None:
    """Close the connection of an answer not read to its end (as requests' close does)."""
    response.close()
    response.release_conn()


def _read_some(response: urllib3.BaseHTTPResponse) -> bytes:
    """What has arrived of the body (at least a byte, or b"" at its end)."""
    try:
        chunk: bytes = response.read1(_CHUNK, decode_content=True)
    except urllib3.exceptions.ReadTimeoutError:
        _discard(response)
        raise requests.exceptions.ReadTimeout("the response body stalled") from None
    except urllib3.exceptions.DecodeError:
        _discard(response)
        raise requests.exceptions.ContentDecodingError("undecodable body") from None
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.SSLError, OSError):
        received = response.tell()  # bytes off the wire, before any decompression
        _discard(response)
        promised = response.headers.get("Content-Length")
        raise BodyCutOff(response.status, received, promised) from None
    return chunk
