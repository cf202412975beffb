"""``/_emulator/*``: the test-only control plane for scripts in other processes.

No apikey, never faulted, never logged: these requests are the test's, not the tap's.
Each endpoint is one call of the Python control API (``Controls``, which ``Emulator`` is).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from data365_emulator.config import EmulatorConfig
from data365_emulator.live import LiveFeed
from data365_emulator.replies import Reply, reply
from data365_emulator.requestlog import LoggedRequest


class Controls(Protocol):
    """The Python control API the endpoints forward to (``Emulator``'s, by structure)."""

    @property
    def url(self) -> str: ...
    @property
    def config(self) -> EmulatorConfig: ...
    @property
    def requests(self) -> list[LoggedRequest]: ...
    @property
    def live(self) -> LiveFeed: ...
    def clear_requests(self) -> None: ...
    def configure(self, **changes: Any) -> EmulatorConfig: ...
    def finish_running_tasks(self) -> list[str]: ...
    def post_count(self, source: str) -> int: ...
    def add_posts(self, source: str, count: int, from_date: str, to_date: str) -> int: ...
    def add_dated_posts(
        self, source: str, doc_dates: list[str], found: str | None = None
    ) -> list[str]: ...
    def add_task(
        self,
        source: str,
        value: str,
        from_date: str,
        to_date: str,
        *,
        status: str = ...,
        update_interval: int | None = ...,
        parameters: dict[str, Any] | None = ...,
    ) -> str: ...
    def add_arrivals(
        self, count: int, source: str | None = ..., shares: Mapping[str, float] | None = ...
    ) -> dict[str, Any]: ...


def handle(emu: Controls, method: str, path: str, raw: bytes) -> Reply:
    route = path.removeprefix("/_emulator").strip("/")
    try:
        body: Any = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return reply(400, {"message": "request body is not valid JSON"})
    try:
        return _route(emu, method, route, body)
    except (ValueError, TypeError, KeyError) as exc:
        return reply(400, {"message": str(exc)})


def _route(emu: Controls, method: str, route: str, body: Any) -> Reply:
    if (method, route) == ("GET", "health"):
        return reply(200, {"status": "ok", "url": emu.url})
    if route == "requests":
        if method == "GET":
            return reply(200, [r.as_json() for r in emu.requests])
        if method == "DELETE":
            emu.clear_requests()
            return reply(200, {"status": "ok"})
    if route == "config":
        if method == "POST":
            if not isinstance(body, dict):
                return reply(400, {"message": "config changes must be a JSON object"})
            emu.configure(**body)
        if method in ("GET", "POST"):
            return reply(200, emu.config.as_json())
    if (method, route) == ("POST", "finish-running-tasks"):
        return reply(200, {"finished": emu.finish_running_tasks()})
    if (method, route) == ("POST", "tasks"):
        return reply(200, {"id": _add_task(emu, body)})
    if (method, route) == ("POST", "posts") and "doc_dates" in body:
        ids = emu.add_dated_posts(body["source"], body["doc_dates"], body.get("found"))
        return reply(200, {"added": len(ids), "ids": ids})
    if (method, route) == ("POST", "posts"):
        added = emu.add_posts(body["source"], int(body["count"]), body["from_date"],
                              body["to_date"])  # fmt: skip
        return reply(200, {"added": added})
    if route == "index-lag" and method in ("GET", "POST"):
        return reply(200, _index_lag(emu, method, body))
    if route == "arrivals" and method in ("GET", "POST"):
        return reply(200, _arrivals(emu, method, body))
    if method == "GET" and route.startswith("post-count/"):
        source = route.removeprefix("post-count/")
        return reply(200, {"source": source, "count": emu.post_count(source)})
    return reply(404, {"message": f"no control endpoint {method} /_emulator/{route}"})


def _add_task(emu: Controls, body: Any) -> str:
    return emu.add_task(
        body["source"],
        body["value"],
        body["from_date"],
        body["to_date"],
        status=body.get("status", "created"),
        update_interval=body.get("update_interval"),
        parameters=body.get("parameters"),
    )


def _arrivals(emu: Controls, method: str, body: Any) -> dict[str, Any]:
    """GET: the live feed so far; POST ``{"count", "source"?, "shares"?}``: a burst."""
    if method == "GET":
        return emu.live.status(emu.config)
    if not isinstance(body, dict) or "count" not in body:
        msg = 'arrivals: body must be {"count": N, "source"?: ..., "shares"?: {...}}'
        raise ValueError(msg)
    unknown = sorted(set(body) - {"count", "source", "shares"})
    if unknown:
        msg = f"arrivals: unknown fields {', '.join(unknown)}"
        raise ValueError(msg)
    return emu.add_arrivals(body["count"], body.get("source"), body.get("shares"))


def _index_lag(emu: Controls, method: str, body: Any) -> dict[str, Any]:
    """POST ``{"lag": "1m-15m"}`` (or seconds, or [low, high]): live arrivals found from now on
    become searchable that long after their ``content.found``; GET: the lag and the arrivals
    found but not searchable yet."""
    if method == "POST":
        if not isinstance(body, dict) or set(body) != {"lag"}:
            msg = 'index-lag: body must be {"lag": seconds, "2m", "1m-15m" or [low, high]}'
            raise ValueError(msg)
        emu.configure(index_lag=body["lag"])
    status = emu.live.status(emu.config)
    low, high = emu.config.index_lag
    return {"index_lag_seconds": [low, high], "pending": status["pending"]}
