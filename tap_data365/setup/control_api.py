"""A small client for the Data365 control plane: token, sources and collection tasks.

Used by ``tap-data365 setup``. Every request goes through the transport the tap's streams
use (``http/transport.py``: retries, ``Retry-After``, one-line errors, URL quoting); this
module names the endpoints and reads their answers. Nothing here ever puts the API key or
the token into a message: errors name the path and the HTTP status only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from tap_data365 import normalize
from tap_data365.errors import ShapeError, parse_answer
from tap_data365.http.paths import PROVIDER_PATH, TOKEN_PATH, source_path, task_path
from tap_data365.http.transport import RequestStats, Transport
from tap_data365.settings import ApiSettings

_T = TypeVar("_T")


class Data365Api:
    """Token, sources and task endpoints of ``/api/data-providers/data365``."""

    def __init__(
        self,
        settings: ApiSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self._http = Transport(settings, sleep=sleep, on_retry=on_retry)

    @property
    def max_retries(self) -> int:
        return self._http.settings.max_retries

    @property
    def stats(self) -> RequestStats:
        """Every attempt this client sent."""
        return self._http.stats

    def pause(self, seconds: float) -> None:
        """Sleep between attempts (the injectable sleep, so callers share its policy)."""
        self._http.pause(seconds)

    def close(self) -> None:
        self._http.close()

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
        return parse_answer(normalize.source_names, payload, "listing the sources")

    def list_tasks(self, source: str) -> list[dict[str, Any]]:
        """Raw task objects of one source (their status may lag the single-task status)."""
        payload = self._send("GET", source_path(source), f"listing tasks of {source}")
        return parse_answer(normalize.task_list, payload, f"listing tasks of {source}")

    def create_tasks(self, source: str, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """POST one batch; returns the task objects the response echoes (maybe none).

        The API appends, so this is the one request that is not repeated after the server
        may have acted on it (see ``transport.NOT_PROCESSED_STATUSES``): it raises RetryUnsafeError
        and the caller re-lists the source before sending what is still missing.
        """
        payload = self._send(
            "POST",
            source_path(source),
            f"creating {len(tasks)} task(s) of {source}",
            body={"tasks": tasks},
            idempotent=False,
        )
        if payload is None or payload == "":
            return []
        try:
            return [t for t in normalize.task_list(payload) if normalize.task_id(t)]
        except ShapeError:
            # A body without a task list (e.g. {"status": "ok"}) is fine: the caller lists.
            return []

    def get_task(self, source: str, task_id: str) -> dict[str, Any]:
        payload = self._send(
            "GET",
            task_path(source, task_id),
            f"reading task {task_id} of {source}",
        )
        return parse_answer(normalize.task_object, payload, f"reading task {task_id} of {source}")

    def start_task(self, source: str, task_id: str) -> None:
        self._task_action("PUT", source, task_id, "start", "starting")

    def cancel_task(self, source: str, task_id: str) -> None:
        self._task_action("POST", source, task_id, "cancel", "canceling")

    def _task_action(self, method: str, source: str, task_id: str, action: str, doing: str) -> None:
        self._send(
            method,
            f"{task_path(source, task_id)}/{action}",
            f"{doing} task {task_id} of {source}",
        )

    def cancel_all(self, source: str) -> None:
        self._send(
            "POST",
            source_path(source) + "/cancel-all",
            f"canceling all tasks of {source}",
        )

    def remove_task(self, source: str, task_id: str) -> None:
        self._send(
            "DELETE",
            task_path(source, task_id),
            f"removing task {task_id} of {source}",
        )

    # ------------------------------------------------------------------ transport

    def _send(
        self, method: str, path: str, what: str, *, body: object = None, idempotent: bool = True
    ) -> Any:
        return self._http.request(method, path, what, body=body, idempotent=idempotent)
