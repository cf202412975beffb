"""Data365Stream: how every stream talks to the Datastreamer API.

Auth (``apikey`` header), Retry-After-aware exponential backoff with jitter on 429/5xx and
dropped connections, fast JSON parsing, and error mapping to one-line messages that never
contain the key.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Generator
from typing import Any
from urllib.parse import urlsplit

import backoff
import msgspec
import requests
from singer_sdk import Tap
from singer_sdk.authenticators import APIKeyAuthenticator
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_data365.api_paths import PROVIDER_PATH
from tap_data365.conform import RecordConformer
from tap_data365.errors import (
    ApiResponseError,
    RetryWaitTooLongError,
    error_for_response,
    redirect_error,
    short_body,
    unknown_source_error,
)
from tap_data365.http.body import read_within
from tap_data365.http.metrics import RequestMetrics, endpoint_of
from tap_data365.http.ratelimit import AdaptiveLimiter
from tap_data365.http.retry import (
    MAX_RETRY_WAIT_SECONDS,
    RETRIABLE_EXCEPTIONS,
    RETRIABLE_STATUSES,
    backoff_waits,
    next_retry_wait,
    retry_after_seconds,
)
from tap_data365.sdk_hooks import FencedStream
from tap_data365.settings import DEFAULT_API_URL

_json_decoder = msgspec.json.Decoder()


class Data365Stream(FencedStream):
    """Base stream: settings → HTTP, shared by the sources, tasks and search streams."""

    def __init__(self, tap: Tap, limiter: AdaptiveLimiter) -> None:
        super().__init__(tap)
        #: One limiter for every request of the run, whichever stream or worker sends it.
        self.limiter = limiter

    @property
    @override
    def url_base(self) -> str:
        return str(self.config.get("api_url") or DEFAULT_API_URL).rstrip("/")

    @functools.cached_property
    @override
    def authenticator(self) -> APIKeyAuthenticator:
        return APIKeyAuthenticator(key="apikey", value=self.config["api_key"], location="header")

    @property
    @override
    def timeout(self) -> int:
        return int(self.config.get("request_timeout", 60))

    @property
    @override
    def requests_session(self) -> requests.Session:
        # One keep-alive session per thread: search windows are fetched from worker threads.
        local = self._thread_sessions
        session: requests.Session | None = getattr(local, "session", None)
        if session is None:
            session = requests.Session()
            local.session = session
        return session

    @functools.cached_property
    def _thread_sessions(self) -> threading.local:
        return threading.local()

    # ------------------------------------------------------------------ retries

    @override
    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """Retry-After when the API sends it, else exponential waits with full jitter."""
        waits = backoff_waits()
        max_wait = float(self.config.get("max_retry_wait", MAX_RETRY_WAIT_SECONDS))
        exception = yield 0.0
        while True:
            response = getattr(exception, "response", None)
            exception = yield next_retry_wait(
                response if isinstance(response, requests.Response) else None, waits, max_wait
            )

    @override
    def backoff_jitter(self, value: float) -> float:
        return value  # backoff_waits already jitters; Retry-After is honoured as sent

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config.get("max_retries", 8)) + 1

    @override
    def request_decorator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        # The SDK's decorator, minus backoff's own log line: backoff_handler logs each retry
        # once, named after what was being done.
        decorator: Callable[..., Any] = backoff.on_exception(
            self.backoff_wait_generator,
            (*RETRIABLE_EXCEPTIONS, RetriableAPIError),
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            jitter=self.backoff_jitter,
            logger=None,
        )
        decorated: Callable[..., Any] = decorator(func)
        return decorated

    @override
    def backoff_handler(self, details: Any) -> None:
        exception = details.get("exception")
        response = getattr(exception, "response", None)
        cause = (
            f"HTTP {response.status_code}"
            if isinstance(response, requests.Response)
            else type(exception).__name__
        )
        self.logger.warning(
            "Retrying after %s while %s (attempt %d of %d), waiting %.2f s",
            cause,
            details.get("kwargs", {}).get("what", f"reading {self.name}"),
            details.get("tries", 0),
            self.backoff_max_tries(),
            details.get("wait", 0.0),
        )

    # ------------------------------------------------------------------ errors

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status in RETRIABLE_STATUSES:
            raise RetriableAPIError(self.response_error_message(response), response)
        if status >= 400:
            method = response.request.method if response.request is not None else "?"
            raise self.final_error(response, f"calling {method} {_path_of(response)}")

    @override
    def response_error_message(self, response: requests.Response) -> str:
        return f"HTTP {response.status_code} from {_path_of(response)}: {short_body(response)}"

    def final_error(self, response: requests.Response, what: str) -> Exception:
        """The one-line error for a response we will not retry (any more)."""
        path = _path_of(response)
        if response.status_code == 404 and path.startswith(PROVIDER_PATH + "/"):
            return unknown_source_error(path[len(PROVIDER_PATH) + 1 :].split("/")[0])
        return error_for_response(response, what)

    # ------------------------------------------------------------------ records

    @functools.cached_property
    def _conform(self) -> RecordConformer:
        return RecordConformer(self.schema)

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any]:
        """Fit the record to the schema, keeping every field (see conform.py).

        Targets create columns from the schema, so an undeclared field would be dropped on
        load; moved under ``extra_fields`` (of the record or of its block) it reaches the
        warehouse, and a value of the wrong type neither fails validation nor gets lost.
        """
        return self._conform(row)

    # ------------------------------------------------------------------ requests

    def request_json(self, method: str, path: str, body: Any = None, *, what: str) -> Any:
        """One API call through the SDK's retry decorator; failures become one clear line.

        ``what`` completes the sentence "… while <what>" in error messages.
        """
        request = requests.Request(
            method=method,
            url=self.url_base + path,
            json=body,
            headers={"Accept": "application/json", "User-Agent": self.user_agent},
        ).prepare()
        try:
            response = self._send_with_retries(request, what=what)
        except RetryWaitTooLongError as exc:
            raise ApiResponseError(exc.explain(what)) from None
        except RetriableAPIError as exc:
            if exc.response is None:
                raise ApiResponseError(
                    f"no usable answer from the Datastreamer API while {what}"
                ) from None
            raise self.final_error(exc.response, what) from None
        except requests.RequestException as exc:
            msg = f"could not reach the Datastreamer API while {what}: {type(exc).__name__}"
            raise ApiResponseError(msg) from None
        self._http_metrics.counted(endpoint_of(path))
        return self.decode(response, what)

    @functools.cached_property
    def _send_with_retries(self) -> Any:
        return self.request_decorator(self._send_once)

    def _send_once(self, request: requests.PreparedRequest, *, what: str) -> requests.Response:
        timeout = float(self.config.get("request_timeout", 60))
        limiter = self.limiter
        slot = limiter.acquire()
        answered: requests.Response | None = None
        try:
            started = time.monotonic()
            response = self.requests_session.send(
                self.authenticator(request), timeout=timeout, allow_redirects=False, stream=True
            )
            # request_timeout bounds the whole answer, not each read of a dripping body.
            read_within(response, started + timeout)
            answered = response
        finally:
            # Every worker of the sync learns from this answer (see ratelimit.py).
            status = None if answered is None else answered.status_code
            limiter.release(slot, status, retry_after_seconds(answered))
        self._http_metrics.timed(endpoint_of(request.path_url), response)
        if 300 <= response.status_code < 400:
            raise redirect_error(response, what)
        self.validate_response(response)
        return response

    @functools.cached_property
    def _http_metrics(self) -> RequestMetrics:
        return RequestMetrics(self.name, self.metrics_logger)

    @override
    def log_sync_costs(self) -> None:
        super().log_sync_costs()
        self._http_metrics.flush()  # the SDK calls this for every stream at the end of a sync

    @staticmethod
    def decode(response: requests.Response, what: str) -> Any:
        """Parse a JSON body quickly; a body that is not JSON is a clear error."""
        try:
            return _json_decoder.decode(response.content)
        except msgspec.DecodeError:
            msg = f"the Datastreamer API answered with a body that is not JSON while {what}"
            raise ApiResponseError(msg) from None


def _path_of(response: requests.Response) -> str:
    return urlsplit(response.url).path
