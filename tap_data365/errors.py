"""Errors users see, and the retry policy shared by the tap and the setup command.

Every message here is one line, names what is at fault, and never contains the API key or
the Data365 token (only paths, status codes and the API's own short message).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import requests

from tap_data365.masking import mask

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
#: The default of the max_retry_wait setting: the longest Retry-After honoured.
MAX_RETRY_WAIT_SECONDS = 120.0


class Data365Error(Exception):
    """A failure explained in one line; the CLI prints it without a traceback."""


class ConfigError(Data365Error):
    """A setting is missing or wrong; raised before any request is sent."""


class AuthRejectedError(Data365Error):
    """The API rejected the key (401/403)."""


class UnknownSourceError(Data365Error):
    """A sub-source is not connected to the account."""


class ApiResponseError(Data365Error):
    """The API answered with an error status or a body we cannot read."""


def retry_after_seconds(response: requests.Response | None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header (seconds or HTTP date)."""
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


def backoff_waits(base: float = 0.5, cap: float = 30.0) -> Iterator[float]:
    """Exponential waits with full jitter: 0..0.5 s, 0..1 s, 0..2 s, … capped."""
    attempt = 0
    while True:
        yield random.uniform(0, min(cap, base * 2**attempt))
        attempt += 1


class RetryWaitTooLongError(ApiResponseError):
    """The API asked (Retry-After) for a longer wait than max_retry_wait allows."""

    def __init__(self, seconds: float, status: int, max_wait: float) -> None:
        self.seconds, self.status, self.max_wait = seconds, status, max_wait
        super().__init__(self.explain("calling the API"))

    def explain(self, what: str) -> str:
        return (
            f"the Datastreamer API asked to wait {self.seconds:.0f} s before retrying "
            f"(HTTP {self.status} with Retry-After) while {what}; that is longer than "
            f"max_retry_wait ({self.max_wait:g} s), so the run stops now: try again later"
        )


def next_retry_wait(
    response: requests.Response | None,
    waits: Iterator[float],
    max_wait: float = MAX_RETRY_WAIT_SECONDS,
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


def redirect_error(response: requests.Response, what: str) -> ApiResponseError:
    """A 3xx answer: never followed (the key would go along), named with its target host."""
    location = response.headers.get("Location")
    target = urlsplit(urljoin(response.url, location)).netloc if location else ""
    where = f"to {target}" if target else "without a Location"
    return ApiResponseError(
        f"the Datastreamer API answered HTTP {response.status_code} redirecting {where} while "
        f"{what}; redirects are not followed (the api_key would go along): check api_url"
    )


def unknown_source_error(source: str) -> UnknownSourceError:
    """A 404 on a sub-source's path: the source is not connected (or does not exist)."""
    return UnknownSourceError(
        f"Data365 sub-source {source!r} is not connected to this Datastreamer account "
        "(check the sources setting)"
    )


def short_body(response: requests.Response) -> str:
    """The API's own error text, shortened to one line, secrets masked."""
    try:
        body = response.json()
    except ValueError:
        text = response.text
    else:
        text = (
            str(body.get("message") or body.get("error") or body)
            if isinstance(body, dict)
            else str(body)
        )
    text = mask(" ".join(text.split()))  # a body may echo the key we sent
    return text[:200] + ("…" if len(text) > 200 else "")


def error_for_response(response: requests.Response, what: str) -> Data365Error:
    """Map a final (non-retried or retries exhausted) error response to one clear error.

    ``what`` says what was being done, e.g. ``"listing tasks of source twitter_keywords"``.
    """
    status = response.status_code
    if status in {401, 403}:
        return AuthRejectedError(
            f"the Datastreamer API rejected the api_key (HTTP {status}) while {what}; "
            "check the api_key setting"
        )
    return ApiResponseError(
        f"HTTP {status} from the Datastreamer API while {what}: {short_body(response)}"
    )
