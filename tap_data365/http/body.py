"""Reading a response body within a deadline, for the tap's client and the setup client.

``requests``' timeout bounds each socket read, not the response: a server that drips one
byte a second keeps a request alive for ever. Both clients send with ``stream=True`` and
read the body here, which stops at ``request_timeout`` after the request was sent.
"""

from __future__ import annotations

import time

import requests
import urllib3.exceptions

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


def read_within(response: requests.Response, deadline: float) -> None:
    """Read the whole body before ``deadline`` (time.monotonic()), or raise requests.Timeout.

    The body is left where ``response.content`` finds it; the connection is closed on failure.
    """
    chunks: list[bytes] = []
    while True:
        if time.monotonic() > deadline:
            response.close()
            raise requests.exceptions.ReadTimeout(
                "the response body did not arrive within request_timeout"
            )
        chunk = _read_some(response)
        if not chunk:
            break
        chunks.append(chunk)
    response.raw.release_conn()  # back to the keep-alive pool
    # requests reads .content from here once a streamed body has been consumed.
    response._content = b"".join(chunks)
    response._content_consumed = True  # type: ignore[attr-defined]


def _read_some(response: requests.Response) -> bytes:
    """What has arrived of the body (at least a byte, or b"" at its end)."""
    try:
        chunk: bytes = response.raw.read1(_CHUNK, decode_content=True)
    except urllib3.exceptions.ReadTimeoutError:
        response.close()
        raise requests.exceptions.ReadTimeout("the response body stalled") from None
    except urllib3.exceptions.DecodeError:
        response.close()
        raise requests.exceptions.ContentDecodingError("undecodable body") from None
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.SSLError, OSError):
        received = response.raw.tell()  # bytes off the wire, before any decompression
        response.close()
        promised = response.headers.get("Content-Length")
        raise BodyCutOff(response.status_code, received, promised) from None
    return chunk
