"""The request log tests read to see what the tap sent (secrets redacted)."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

_SECRET_KEYS = frozenset({"token", "apikey", "api_key"})


@dataclasses.dataclass(frozen=True)
class LoggedRequest:
    """One API request: status 0 means the connection was dropped without an answer."""

    method: str
    path: str
    status: int
    query: dict[str, str] | None
    body: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def redact(value: Any) -> Any:
    """A copy of a JSON value with every secret-named field replaced by ``***``."""
    if isinstance(value, dict):
        return {k: "***" if k.lower() in _SECRET_KEYS else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[LoggedRequest] = []

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._items.append(entry)

    def snapshot(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
