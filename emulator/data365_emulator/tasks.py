"""Collection tasks: validation, the lifecycle, and the (configurable) JSON shape.

Lifecycle: created → start → running → after ``polls_to_finish`` single-task reads (or
``finish_running``) → complete/finished, or ``failed`` when the value contains "fail".
Cancel → canceled; starting a task that is not running runs it again.

List lag (seed page §4: "the status in the list reflects the last time a task was executed"):
with ``list_status_lag`` the list shows the status a task had before its latest transition,
until the task is read individually once more after that transition.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from data365_emulator.config import EmulatorConfig
from data365_emulator.errors import ApiError
from data365_emulator.seed import iso_now, stable_uuid

DONE = ("complete", "finished")
STATUSES = ("created", "running", "complete", "finished", "canceled", "failed", "fail")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_OPERATORS = re.compile(r"\b(AND|OR)\b|&&|\|\|")
TWITTER_QUERY_LIMIT = 498

#: Called when a task finishes with data: (task as JSON, run number, found timestamp).
OnFinish = Callable[["Task", int, str], None]


@dataclasses.dataclass
class Task:
    id: str
    source: str
    value: str
    from_date: str
    to_date: str
    update_interval: int | None
    parameters: dict[str, Any]
    status: str
    list_status: str
    created: str
    updated: str
    lag_pending: bool = False
    polls: int = 0
    runs: int = 0

    def as_seed(self) -> dict[str, Any]:
        return {"id": self.id, "value": self.value, "from_date": self.from_date,
                "to_date": self.to_date}  # fmt: skip


class TaskBook:
    """All tasks of all sources, guarded by one lock (requests arrive on many threads)."""

    def __init__(self, seed: int, on_finish: OnFinish) -> None:
        self._seed = seed
        self._on_finish = on_finish
        self._tasks: dict[str, Task] = {}  # insertion order = creation order
        self._lock = threading.RLock()
        self._counter = 0
        self._finishes = 0  # alternates complete/finished when finish_status="alternate"

    # ---------------------------------------------------------------- creation

    def create(self, source: str, body: object) -> list[Task]:
        """Validate a whole batch first: one bad task rejects all (nothing is created)."""
        items = body.get("tasks") if isinstance(body, Mapping) else None
        if not isinstance(items, list) or not items:
            raise ApiError(400, 'body must be {"tasks": [ ... ]} with at least one task')
        cleaned = [_validate(source, i, item) for i, item in enumerate(items)]
        with self._lock:
            return [self.add(source, **fields) for fields in cleaned]

    def add(
        self,
        source: str,
        value: str,
        from_date: str,
        to_date: str,
        *,
        status: str = "created",
        update_interval: int | None = None,
        parameters: dict[str, Any] | None = None,
        task_id: str | None = None,
        with_posts: bool = True,
    ) -> Task:
        """Create one task unvalidated (server-side seeding); a done status brings its posts."""
        if status not in STATUSES:
            msg = f"status must be one of {STATUSES}"
            raise ValueError(msg)
        with self._lock:
            self._counter += 1
            now = iso_now()
            task = Task(
                id=task_id or stable_uuid("task", self._seed, self._counter, source, value),
                source=source, value=value, from_date=from_date, to_date=to_date,
                update_interval=update_interval, parameters=dict(parameters or {}),
                status=status, list_status=status, created=now, updated=now,
            )  # fmt: skip
            self._tasks[task.id] = task
            if status in DONE and with_posts:
                task.runs = 1
                self._on_finish(task, 1, now)
            return task

    # ---------------------------------------------------------------- reading

    def of_source(self, source: str) -> list[Task]:
        with self._lock:
            return [t for t in self._tasks.values() if t.source == source]

    def find(self, source: str, task_id: str) -> Task:
        with self._lock:
            task = self._tasks.get(task_id)
        if task is None or task.source != source:
            raise ApiError(404, f"unknown task: {task_id}")
        return task

    def poll(self, source: str, task_id: str, cfg: EmulatorConfig) -> Task:
        """A single-task read: settles a pending list lag, then advances a running task."""
        with self._lock:
            task = self.find(source, task_id)
            if task.lag_pending:
                task.list_status, task.lag_pending = task.status, False
            if task.status == "running":
                task.polls += 1
                if task.polls >= cfg.polls_to_finish:
                    self._finish(task, cfg)
            return task

    # ---------------------------------------------------------------- transitions

    def start(self, task: Task, cfg: EmulatorConfig) -> None:
        with self._lock:
            if task.status != "running":
                task.polls = 0
                self._move(task, "running", cfg)

    def cancel(self, task: Task, cfg: EmulatorConfig) -> None:
        with self._lock:
            if task.status in ("created", "running"):
                self._move(task, "canceled", cfg)

    def delete(self, source: str, task_id: str) -> None:
        with self._lock:
            self.find(source, task_id)
            del self._tasks[task_id]

    def finish_running(self, cfg: EmulatorConfig) -> list[str]:
        with self._lock:
            running = [t for t in self._tasks.values() if t.status == "running"]
            for task in running:
                self._finish(task, cfg)
            return [t.id for t in running]

    def _finish(self, task: Task, cfg: EmulatorConfig) -> None:
        if "fail" in task.value.lower():
            self._move(task, cfg.fail_status, cfg)
            return
        status = cfg.finish_status
        if status == "alternate":
            status = DONE[self._finishes % 2]
        self._finishes += 1
        self._move(task, status, cfg)
        task.runs += 1
        self._on_finish(task, task.runs, task.updated)

    def _move(self, task: Task, status: str, cfg: EmulatorConfig) -> None:
        previous = task.status
        task.status = status
        task.updated = _later_than(task.updated)
        if cfg.list_status_lag:
            task.list_status, task.lag_pending = previous, True
        else:
            task.list_status, task.lag_pending = status, False


def render(task: Task, cfg: EmulatorConfig, *, listed: bool) -> dict[str, Any]:
    """The task's JSON object in the configured shape (list entries may lag)."""
    status = task.list_status if listed else task.status
    if cfg.status_case == "upper":
        status = status.upper()
    elif cfg.status_case == "title":
        status = status.title()
    return {
        cfg.task_id_key: task.id,
        "value": task.value,
        "from_date": task.from_date,
        "to_date": task.to_date,
        "update_interval": task.update_interval,
        "parameters": task.parameters,
        "status": status,
        "created": task.created,
        "updated": task.updated,
    }


def _later_than(previous: str) -> str:
    """Now, but strictly after ``previous`` so every transition changes ``updated``."""
    now = iso_now()
    if now > previous:
        return now
    bumped = dt.datetime.strptime(previous, "%Y-%m-%dT%H:%M:%S.%fZ") + dt.timedelta(microseconds=1)
    return bumped.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _validate(source: str, index: int, item: object) -> dict[str, Any]:
    where = f"tasks[{index}]"
    if not isinstance(item, Mapping):
        raise ApiError(400, f"{where} must be an object")
    value = item.get("value")
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"{where}.value must be a non-empty string")
    dates = {}
    for key in ("from_date", "to_date"):
        raw = item.get(key)
        if not isinstance(raw, str) or not _DATE.fullmatch(raw):
            raise ApiError(400, f"{where}.{key} must be a date in yyyy-mm-dd format")
        try:
            dates[key] = dt.date.fromisoformat(raw)
        except ValueError:
            raise ApiError(400, f"{where}.{key} is not a valid date: {raw}") from None
    if dates["from_date"] > dates["to_date"]:
        raise ApiError(400, f"{where}.from_date must not be after to_date")
    if source == "twitter_keywords" and len(value) > TWITTER_QUERY_LIMIT:
        raise ApiError(400, f"{where}.value exceeds {TWITTER_QUERY_LIMIT} characters")
    if source == "twitter_profile" and _OPERATORS.search(value):
        raise ApiError(400, f"{where}.value: operators are not allowed for twitter_profile")
    interval = item.get("update_interval")
    if interval is not None and (isinstance(interval, bool) or not isinstance(interval, int)
                                 or interval < 0):  # fmt: skip
        raise ApiError(400, f"{where}.update_interval must be a non-negative integer or null")
    parameters = item.get("parameters")
    if parameters is not None and not isinstance(parameters, Mapping):
        raise ApiError(400, f"{where}.parameters must be an object")
    return {
        "value": value,
        "from_date": item["from_date"],
        "to_date": item["to_date"],
        "update_interval": interval,
        "parameters": dict(parameters or {}),
    }
