"""The one way the tap's streams and ``tap-data365 setup`` talk to the Datastreamer API.

One connection policy (``connection.py``: one keep-alive pool for every thread, the key in
its headers only, redirects never followed; every body read within ``request_timeout``,
``body.py``), one retry policy (``retry.py``:
429, 5xx and dropped connections, ``Retry-After`` or ``backoff``'s jittered waits), one error
mapping (``error_mapping.py``) and one URL quoting (``paths.py``). The streams add the shared
rate limiter and the SDK's HTTP metrics through the two hooks; setup adds its retry lines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

from tap_data365 import __version__
from tap_data365.errors import ApiResponseError, RetryUnsafeError, RetryWaitTooLongError
from tap_data365.http.body import Answer, BodyCutOff, read_within
from tap_data365.http.connection import Connections
from tap_data365.http.error_mapping import (
    decode,
    error_for_response,
    mistake_cause,
    network_cause,
    redirect_error,
    where,
)
from tap_data365.http.ratelimit import AdaptiveLimiter
from tap_data365.http.retry import (
    RETRIABLE_EXCEPTIONS,
    RETRIABLE_STATUSES,
    backoff_waits,
    next_retry_wait,
    retry_after_seconds,
)
from tap_data365.settings import ApiSettings

OnAnswer = Callable[[str, Answer], None]

#: Statuses after which the server did not act on the request: safe to retry even a POST
#: that appends tasks. After a 500/502/504 or a dropped connection the server may have
#: created the tasks already, so a create is not retried blindly (the caller re-lists).
NOT_PROCESSED_STATUSES = frozenset({408, 425, 429, 503})
#: Attempts of one request that may time out: a server that did not answer within
#: request_timeout three times running is not answering; waiting max_retries + 1 times as
#: long (9 minutes with the defaults) would only hide it.
TIMEOUT_ATTEMPTS = 3


@dataclass
class RequestStats:
    """Every attempt sent: the setup command reports it, tests compare it."""

    total: int = 0
    writes: int = 0
    by_method: dict[str, int] = field(default_factory=dict)

    def count(self, method: str) -> None:
        self.total += 1
        self.by_method[method] = self.by_method.get(method, 0) + 1
        if method != "GET":
            self.writes += 1


class Transport:
    """Thread-safe; one per run, shared by every stream (or by the setup command)."""

    def __init__(
        self,
        settings: ApiSettings,
        *,
        limiter: AdaptiveLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[str], None] | None = None,
        on_answer: OnAnswer | None = None,
    ) -> None:
        self.settings = settings
        self._limiter = limiter
        self._sleep = sleep
        #: Told one line per retry (what failed, what was being done, the wait).
        self._on_retry = on_retry or (lambda line: None)
        #: Told every answer, with the request's path (the streams' HTTP metrics).
        self._on_answer = on_answer or (lambda path, response: None)
        self._lock = threading.Lock()
        self._made: Connections | None = None
        self.stats = RequestStats()
        #: Whether the API has answered anything yet in this run: before it has, a refused
        #: connection or an unknown host is a mistake (api_url), not weather.
        self.answered = False

    def pause(self, seconds: float) -> None:
        """Sleep between attempts (the injectable sleep, so callers share its policy)."""
        self._sleep(seconds)

    def close(self) -> None:
        if self._made is not None:
            self._made.close()

    @property
    def _connections(self) -> Connections:
        """Made at the first request (discovery sends none, and reads no proxy setting),
        once for every thread."""
        made = self._made
        if made is None:
            with self._lock:
                if self._made is None:
                    headers = {
                        "apikey": self.settings.key,
                        "Accept": "application/json",
                        "User-Agent": f"tap-data365/{__version__}",
                    }
                    self._made = Connections(self.settings.url, headers, self.settings.timeout)
                made = self._made
        return made

    def request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        body: object = None,
        idempotent: bool = True,
        on_answer: OnAnswer | None = None,
        on_retry: Callable[[str], None] | None = None,
    ) -> Any:
        """One logical request with retries; the decoded JSON body (EMPTY_BODY if none).

        ``what`` completes the sentence "… while <what>" in messages. ``idempotent=False``
        (a create): retried only after statuses the server did not act on; otherwise it
        raises RetryUnsafeError and the caller looks before sending again. ``on_answer`` and
        ``on_retry`` replace the transport's hooks for this request (a stream's metrics).

        The waits are ``backoff``'s; the loop is ours because its decorators cannot say this
        policy: they sleep with ``time.sleep`` (setup and the tests inject theirs), retry on
        either exceptions or return values (here both, one count and one wait sequence) and
        jitter every wait (a ``Retry-After`` is waited exactly), and give up by re-raising
        (here: a refused first connection, a third timeout, an unsafe create or a too-long
        ``Retry-After`` each end with its own error, naming the attempts).
        """
        waits = backoff_waits()
        attempt = timeouts = 0
        while True:
            attempt += 1
            try:
                response = self._attempt(method, path, body, on_answer or self._on_answer)
            except RETRIABLE_EXCEPTIONS as exc:
                timeouts += isinstance(exc, requests.Timeout)
                self._no_answer(exc, what, (attempt, timeouts), idempotent=idempotent)
                self._retry(network_cause(exc), what, attempt, next(waits), on_retry)
                continue
            except requests.RequestException as exc:
                msg = f"request failed while {what} ({type(exc).__name__})"
                raise ApiResponseError(msg) from None
            wait = self._answer_wait(response, what, attempt, waits, idempotent=idempotent)
            if wait is None:
                return decode(response, what)
            self._retry(f"HTTP {response.status_code}", what, attempt, wait, on_retry)

    def _attempt(self, method: str, path: str, body: object, on_answer: OnAnswer) -> Answer:
        """One attempt: a slot of the shared limiter, the request, its whole body."""
        with self._lock:
            self.stats.count(method)
        slot = self._limiter.acquire() if self._limiter is not None else None
        answered: Answer | None = None
        try:
            started = time.monotonic()
            sent = self._connections.send(method, path, body)
            # request_timeout bounds the whole answer, not each read of a dripping body.
            response = answered = read_within(sent, started + self.settings.timeout)
            self.answered = True
        finally:
            if slot is not None and self._limiter is not None:
                # Every worker of the sync learns from this answer (see ratelimit.py).
                status = None if answered is None else answered.status_code
                self._limiter.release(slot, status, retry_after_seconds(answered))
        on_answer(path, response)
        return response

    def _no_answer(
        self, exc: BaseException, what: str, counts: tuple[int, int], *, idempotent: bool
    ) -> None:
        """Raise the final error for a failure without an answer, unless a retry is due.

        ``counts``: the attempts so far, and how many of them timed out.
        """
        attempt, timeouts = counts
        settings = self.settings
        host = where(settings.url)
        mistake = mistake_cause(exc)
        if mistake is not None and not self.answered:
            raise ApiResponseError(
                f"cannot connect to the Datastreamer API at {host}: {mistake} while {what}, "
                "and it has not answered once in this run: check api_url"
            ) from None
        if isinstance(exc, requests.Timeout):
            message = (
                f"the Datastreamer API at {host} did not answer within request_timeout "
                f"{settings.timeout:g} s while {what} (Timeout, {attempt} attempt(s)); "
                "if it is only slow, raise request_timeout"
            )
        elif isinstance(exc, BodyCutOff):  # it did answer: "no answer" would mislead
            message = (
                f"the Datastreamer API at {host} answered HTTP {exc.status} while {what}, but "
                f"the answer's body was cut off after the headers: {exc.received} came before "
                f"the connection closed (after {attempt} attempt(s))"
            )
        else:
            message = (
                f"no answer from the Datastreamer API at {host} while {what}: "
                f"{network_cause(exc)} (after {attempt} attempt(s))"
            )
        if not idempotent:
            raise RetryUnsafeError(message) from None
        if timeouts >= TIMEOUT_ATTEMPTS or attempt > settings.max_retries:
            raise ApiResponseError(message) from None

    def _answer_wait(
        self,
        response: Answer,
        what: str,
        attempt: int,
        waits: Iterator[float],
        *,
        idempotent: bool,
    ) -> float | None:
        """None for a good answer, the wait before a retry, or the final error raised."""
        status = response.status_code
        if 300 <= status < 400:
            raise redirect_error(response, what)
        retriable = status in (RETRIABLE_STATUSES if idempotent else NOT_PROCESSED_STATUSES)
        if retriable and attempt <= self.settings.max_retries:
            try:
                return next_retry_wait(response, waits, self.settings.max_retry_wait)
            except RetryWaitTooLongError as exc:
                raise ApiResponseError(exc.explain(what)) from None
        if status < 400:
            return None
        error = error_for_response(response, what, attempt)
        if not idempotent and status in RETRIABLE_STATUSES:
            raise RetryUnsafeError(str(error))
        raise error

    def _retry(
        self,
        cause: str,
        what: str,
        attempt: int,
        wait: float,
        on_retry: Callable[[str], None] | None,
    ) -> None:
        (on_retry or self._on_retry)(
            f"retrying after {cause} while {what} (attempt {attempt} of "
            f"{self.settings.max_retries + 1}), waiting {wait:.1f} s"
        )
        self._sleep(wait)
