"""A small client for the Data365 control plane: token, sources and collection tasks.

Used by ``tap-data365 setup``; the extraction streams have their own SDK client. Every
request goes through ``Data365Api._send``, which owns retries (429/5xx/dropped connections,
honouring ``Retry-After``) and turns failures into one-line errors. Nothing here ever puts
the API key or the token into a message: errors name the path and the HTTP status only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import requests

from tap_data365 import normalize
from tap_data365.api_paths import PROVIDER_PATH, TOKEN_PATH
from tap_data365.errors import (
    ApiResponseError,
    Data365Error,
    RetryWaitTooLongError,
    UnknownSourceError,
    error_for_response,
    redirect_error,
)
from tap_data365.http.body import read_within
from tap_data365.http.retry import (
    MAX_RETRY_WAIT_SECONDS,
    RETRIABLE_EXCEPTIONS,
    RETRIABLE_STATUSES,
    backoff_waits,
    next_retry_wait,
)

#: Statuses after which the server did not act on the request: safe to retry even a POST
#: that appends tasks. After a 500/502/504 or a dropped connection the server may have
#: created the tasks already, so a create is not retried blindly (the caller re-lists).
_NOT_PROCESSED_STATUSES = frozenset({408, 425, 429, 503})

_T = TypeVar("_T")


class RetryUnsafeError(ApiResponseError):
    """A request that must not be repeated blindly failed in a way the server may have
    acted on (a 5xx, a dropped connection): the caller must look before retrying."""


@dataclass
class RequestStats:
    """What this client sent: the setup command reports it, tests compare it."""

    total: int = 0
    writes: int = 0
    by_method: dict[str, int] = field(default_factory=dict)

    def count(self, method: str) -> None:
        self.total += 1
        self.by_method[method] = self.by_method.get(method, 0) + 1
        if method != "GET":
            self.writes += 1


class Data365Api:
    """Token, sources and task endpoints of ``/api/data-providers/data365``."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        timeout: float = 60.0,
        max_retries: int = 8,
        max_wait: float = MAX_RETRY_WAIT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self._base = api_url.rstrip("/")
        self._timeout = timeout
        self._max_retries = max_retries
        self._max_wait = max_wait
        #: Told one line per retry (what failed, what was being done, the wait).
        self._on_retry = on_retry or (lambda line: None)
        self._sleep = sleep
        self._session = requests.Session()
        # The key lives in the session headers only; no message below reads them.
        self._session.headers.update({"apikey": api_key, "Accept": "application/json"})
        self.stats = RequestStats()

    @property
    def max_retries(self) -> int:
        return self._max_retries

    def pause(self, seconds: float) -> None:
        """Sleep between attempts (the injectable sleep, so callers share its policy)."""
        self._sleep(seconds)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Data365Api:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ endpoints

    def register_token(self, token: str) -> None:
        """PUT the Data365 token (replaces the stored one, so repeating it is harmless)."""
        self._send("PUT", TOKEN_PATH, "registering the Data365 token", body={"token": token})

    def connected_sources(self) -> list[str]:
        """Short names of the sub-sources connected to the account."""
        payload = self._send("GET", PROVIDER_PATH, "listing the connected Data365 sources")
        return self._shape(normalize.source_names, payload, "the source list")

    def list_tasks(self, source: str) -> list[dict[str, Any]]:
        """Raw task objects of one source (their status may lag the single-task status)."""
        payload = self._send(
            "GET", _source_path(source), f"listing tasks of {source}", source=source
        )
        return self._shape(normalize.task_list, payload, f"the task list of {source}")

    def create_tasks(self, source: str, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """POST one batch; returns the task objects the response echoes (maybe none).

        The API appends, so this is the one request that is not repeated after the server
        may have acted on it (see ``_NOT_PROCESSED_STATUSES``): it raises RetryUnsafeError
        and the caller re-lists the source before sending what is still missing.
        """
        payload = self._send(
            "POST",
            _source_path(source),
            f"creating {len(tasks)} task(s) of {source}",
            body={"tasks": tasks},
            source=source,
            idempotent=False,
        )
        if payload is None or payload == "":
            return []
        try:
            return [t for t in normalize.task_list(payload) if normalize.task_id(t)]
        except normalize.ShapeError:
            # A body without a task list (e.g. {"status": "ok"}) is fine: the caller lists.
            return []

    def get_task(self, source: str, task_id: str) -> dict[str, Any]:
        payload = self._send(
            "GET",
            _task_path(source, task_id),
            f"reading task {task_id} of {source}",
            source=source,
            task_id=task_id,
        )
        return self._shape(normalize.task_object, payload, f"task {task_id} of {source}")

    def start_task(self, source: str, task_id: str) -> None:
        self._task_action("PUT", source, task_id, "start", "starting")

    def cancel_task(self, source: str, task_id: str) -> None:
        self._task_action("POST", source, task_id, "cancel", "canceling")

    def _task_action(self, method: str, source: str, task_id: str, action: str, doing: str) -> None:
        self._send(
            method,
            f"{_task_path(source, task_id)}/{action}",
            f"{doing} task {task_id} of {source}",
            source=source,
            task_id=task_id,
        )

    def cancel_all(self, source: str) -> None:
        self._send(
            "POST",
            _source_path(source) + "/cancel-all",
            f"canceling all tasks of {source}",
            source=source,
        )

    def remove_task(self, source: str, task_id: str) -> None:
        self._send(
            "DELETE",
            _task_path(source, task_id),
            f"removing task {task_id} of {source}",
            source=source,
            task_id=task_id,
        )

    # ------------------------------------------------------------------ transport

    def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        body: object = None,
        source: str | None = None,
        task_id: str | None = None,
        idempotent: bool = True,
    ) -> Any:
        """One logical request with retries; returns the decoded JSON body (None if empty)."""
        url = self._base + path
        waits: Iterator[float] = backoff_waits()
        attempt = 0
        while True:
            attempt += 1
            self.stats.count(method)
            started = time.monotonic()
            try:
                # Redirects are never followed: the apikey header (and the token in a PUT
                # body) would go along to wherever they point.
                response = self._session.request(
                    method,
                    url,
                    json=body,
                    timeout=self._timeout,
                    allow_redirects=False,
                    stream=True,
                )
                read_within(response, started + self._timeout)  # bounds a dripping body
            except RETRIABLE_EXCEPTIONS as exc:
                message = (
                    f"no answer from the Datastreamer API while {what} "
                    f"({type(exc).__name__}, after {attempt} attempt(s))"
                )
                if not idempotent:
                    raise RetryUnsafeError(message) from None
                if attempt > self._max_retries:
                    raise ApiResponseError(message) from None
                self._retry(type(exc).__name__, what, attempt, next(waits))
                continue
            except requests.RequestException as exc:
                raise ApiResponseError(
                    f"request failed while {what} ({type(exc).__name__})"
                ) from None
            status = response.status_code
            if 300 <= status < 400:
                raise redirect_error(response, what)
            retriable = status in (RETRIABLE_STATUSES if idempotent else _NOT_PROCESSED_STATUSES)
            if retriable and attempt <= self._max_retries:
                try:
                    wait = next_retry_wait(response, waits, self._max_wait)
                except RetryWaitTooLongError as exc:
                    raise ApiResponseError(exc.explain(what)) from None
                self._retry(f"HTTP {status}", what, attempt, wait)
                continue
            if status >= 400:
                error = self._error(response, what, source, task_id)
                if not idempotent and status in RETRIABLE_STATUSES:
                    raise RetryUnsafeError(str(error))
                raise error
            return _decode(response, what)

    def _retry(self, cause: str, what: str, attempt: int, wait: float) -> None:
        self._on_retry(
            f"retrying after {cause} while {what} (attempt {attempt} of "
            f"{self._max_retries + 1}), waiting {wait:.1f} s"
        )
        self._sleep(wait)

    def _error(
        self, response: requests.Response, what: str, source: str | None, task_id: str | None
    ) -> Data365Error:
        status = response.status_code
        if status == 404 and source is not None and task_id is None:
            return UnknownSourceError(
                f"source {source} is unknown to the Datastreamer API or not connected to "
                f"this account (HTTP 404 while {what})"
            )
        if status == 404 and task_id is not None:
            return ApiResponseError(f"task {task_id} of {source} does not exist (HTTP 404)")
        # 401/403 become AuthRejectedError there; the rest one line with the API's text.
        return error_for_response(response, what)

    @staticmethod
    def _shape(parse: Callable[[Any], _T], payload: object, what: str) -> _T:
        try:
            return parse(payload)
        except normalize.ShapeError as exc:
            raise ApiResponseError(f"malformed response for {what}: {exc}") from None


def _decode(response: requests.Response, what: str) -> Any:
    if not response.content or not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        raise ApiResponseError(
            f"malformed response while {what}: HTTP {response.status_code} with a body "
            "that is not JSON"
        ) from None


def _source_path(source: str) -> str:
    return f"{PROVIDER_PATH}/{quote(source, safe='')}"


def _task_path(source: str, task_id: str) -> str:
    return f"{_source_path(source)}/{quote(task_id, safe='')}"
