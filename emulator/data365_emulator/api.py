"""The Datastreamer endpoints: path routing and the JSON each one answers.

HTTP mechanics (auth, faults, latency, logging, bytes on the wire) live in ``server.py``;
this module only maps (method, path, body) to (status, JSON bytes), reading and changing
no more than an ``ApiState``: the posts, the tasks and the registered token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from data365_emulator import tasks as task_mod
from data365_emulator.config import EmulatorConfig
from data365_emulator.errors import ApiError
from data365_emulator.replies import Reply, message, reply
from data365_emulator.search import SearchEngine

_PROVIDER = "/api/data-providers/data365"
_TOKEN = "/api/data-sources/data365"  # noqa: S105 - a path, not a secret


@dataclass
class ApiState:
    """What the endpoints see of the emulator; the settings come with each request."""

    engine: SearchEngine
    tasks: task_mod.TaskBook
    #: The Data365 access token last registered (never echoed back).
    token: str | None = None


def handle(state: ApiState, cfg: EmulatorConfig, method: str, path: str, body: object) -> Reply:
    """Route one authenticated API request; ApiError becomes ``{"message": ...}``."""
    try:
        return _route(state, cfg, method, path.rstrip("/") or "/", body)
    except ApiError as exc:
        return message(exc.status, exc.message)


def _route(state: ApiState, cfg: EmulatorConfig, method: str, path: str, body: object) -> Reply:
    if path == "/api/search":
        _allow(method, "POST")
        return 200, state.engine.search(body, cfg)
    if path == "/api/count":
        _allow(method, "POST")
        if cfg.count_api == "absent":
            raise ApiError(404, f"not found: {path}")
        total = state.engine.count(body, cfg)
        if cfg.count_api == "wrong":
            total //= 2
        return reply(200, {"total": {"value": total}})
    if path == _TOKEN:
        return _token(state, method, body)
    if path == _PROVIDER:
        _allow(method, "GET")
        return reply(200, _sources_payload(cfg))
    if path.startswith(_PROVIDER + "/"):
        parts = path[len(_PROVIDER) + 1 :].split("/")
        if len(parts) <= 3:
            return _tasks(state.tasks, cfg, method, parts, body)
    raise ApiError(404, f"not found: {path}")


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise ApiError(405, f"method {method} not allowed here")


def _token(state: ApiState, method: str, body: object) -> Reply:
    _allow(method, "GET", "PUT", "DELETE")
    if method == "GET":
        return reply(200, {"registered": state.token is not None})
    if method == "DELETE":
        state.token = None
        return reply(200, {"status": "ok"})
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise ApiError(400, 'body must be {"token": "<your Data365 access token>"}')
    state.token = token  # replaces any earlier one; never echoed back
    return reply(200, {"status": "ok"})


def _sources_payload(cfg: EmulatorConfig) -> object:
    items: list[Any] = list(cfg.connected_sources)
    if cfg.sources_item == "object":
        items = [
            {"name": s, "display_name": s.replace("_", " ").title(), "connected": True}
            for s in cfg.connected_sources
        ]
    return items if cfg.sources_wrapper is None else {cfg.sources_wrapper: items}


def _tasks(
    book: task_mod.TaskBook, cfg: EmulatorConfig, method: str, parts: list[str], body: object
) -> Reply:
    source = parts[0]
    if source not in cfg.connected_sources:
        raise ApiError(404, f"unknown data source: {source}")
    if len(parts) == 1:
        _allow(method, "GET", "POST")
        if method == "GET":
            return reply(200, _task_list(cfg, book.of_source(source), listed=True))
        created = book.create(source, body)
        return reply(200, {"tasks": [task_mod.render(t, cfg, listed=False) for t in created]})
    if len(parts) == 2 and parts[1] in ("start-all", "cancel-all"):
        starting = parts[1] == "start-all"
        _allow(method, "PUT" if starting else "POST")
        affected = book.of_source(source)
        for task in affected:
            (book.start if starting else book.cancel)(task, cfg)
        return reply(200, _task_list(cfg, affected, listed=False))
    task_id = parts[1]
    if len(parts) == 3:
        action = parts[2]
        if action not in ("start", "cancel"):
            raise ApiError(404, f"not found: {action}")
        _allow(method, "PUT" if action == "start" else "POST")
        task = book.find(source, task_id)
        (book.start if action == "start" else book.cancel)(task, cfg)
        return reply(200, _single(cfg, task))
    _allow(method, "GET", "DELETE")
    if method == "DELETE":
        book.delete(source, task_id)
        return reply(200, {"status": "ok", "deleted": task_id})
    return reply(200, _single(cfg, book.poll(source, task_id, cfg)))


def _task_list(cfg: EmulatorConfig, items: list[task_mod.Task], *, listed: bool) -> object:
    rendered = [task_mod.render(t, cfg, listed=listed) for t in items]
    return rendered if cfg.tasks_wrapper is None else {cfg.tasks_wrapper: rendered}


def _single(cfg: EmulatorConfig, task: task_mod.Task) -> object:
    rendered = task_mod.render(task, cfg, listed=False)
    return rendered if cfg.task_wrapper is None else {cfg.task_wrapper: rendered}
