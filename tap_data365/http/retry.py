"""The retry policy shared by the tap and the setup command: what is retried and how long
to wait (``Retry-After`` when the API sends it, else ``backoff``'s exponential waits with
full jitter).

The waits are the ``backoff`` package's (the one the Singer SDK retries with), driven by the
transport's loop rather than by its decorators: see ``Transport.request`` for why.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator, Mapping
from typing import Protocol

import backoff
import requests

from tap_data365.errors import RetryWaitTooLongError


class Answered(Protocol):
    """What the policy reads of an answer: the transport's ``Answer``, or a requests
    ``Response`` (the tests read real answers of the emulator with requests)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...


#: HTTP statuses worth retrying: rate limiting and server-side trouble.
RETRIABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Transport errors worth retrying (connection reset/dropped, read timeouts, bad chunks).
RETRIABLE_EXCEPTIONS: tuple[type[Exception], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    ConnectionResetError,
)
#: The first backoff wait is drawn from 0..0.5 s; each next ceiling doubles, up to 30 s.
BACKOFF_FIRST_CEILING_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0


def retry_after_seconds(response: Answered | None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header (seconds or HTTP date).

    ``backoff.runtime`` only calls a function like this one: backoff parses no header.
    """
    if response is None:
        return None
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_waits() -> Iterator[float]:
    """``backoff.expo`` with ``backoff.full_jitter``: 0..0.5 s, 0..1 s, 0..2 s, … 0..30 s."""
    ceilings = backoff.expo(factor=BACKOFF_FIRST_CEILING_SECONDS, max_value=BACKOFF_CAP_SECONDS)
    next(ceilings)  # backoff's wait generators yield once to be primed, before the first wait
    return map(backoff.full_jitter, ceilings)


def next_retry_wait(
    response: Answered | None,
    waits: Iterator[float],
    max_wait: float,
) -> float:
    """How long to wait before the next attempt: ``Retry-After`` when sent, else backoff.

    A Retry-After beyond ``max_wait`` raises RetryWaitTooLongError: sleeping for hours
    with nothing printed looks like a hang.
    """
    server_wait = retry_after_seconds(response)
    if server_wait is None:
        return next(waits)
    if server_wait > max_wait and response is not None:
        raise RetryWaitTooLongError(server_wait, response.status_code, max_wait)
    return server_wait
