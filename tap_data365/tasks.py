"""Declared collection tasks vs the tasks on the server: validation, plan, apply, wait.

A declared task and a server task are *the same task* when source, value, dates, interval
and parameters match (``TaskSpec.key``). The plan creates only what has no match, starts
only what is not collecting or done, and reports extra server copies as duplicates (it
never removes or multiplies them). Every API call goes through ``api.Data365Api``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from tap_data365 import normalize
from tap_data365.api import Data365Api
from tap_data365.errors import ConfigError, Data365Error
from tap_data365.settings import TASK_SCHEMA

#: Documented limit for a twitter_keywords search query (seed page, "Task Restrictions").
TWITTER_QUERY_MAX_CHARS = 498
_OPERATORS = re.compile(r"\b(?:AND|OR)\b|&&|\|\|")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Key = tuple[str, str, str, str, int | None, str]


class TaskValidationError(ConfigError):
    """Declared tasks break one or more rules; ``problems`` lists every one of them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in setting tasks")
        self.problems = problems


@dataclass(frozen=True)
class TaskSpec:
    """One validated task declaration."""

    index: int
    source: str
    value: str
    from_date: str
    to_date: str
    update_interval: int | None = None
    parameters: str = "{}"  # canonical JSON, so the spec stays hashable and comparable

    @property
    def label(self) -> str:
        return f"tasks[{self.index}] ({self.source} {json.dumps(self.value)})"

    def key(self) -> Key:
        return _key(
            self.source,
            self.value,
            self.from_date,
            self.to_date,
            self.update_interval,
            json.loads(self.parameters),
        )

    def body(self) -> dict[str, Any]:
        """The task as the create request carries it (optional fields only when set)."""
        body: dict[str, Any] = {
            "value": self.value,
            "from_date": self.from_date,
            "to_date": self.to_date,
        }
        if self.update_interval is not None:
            body["update_interval"] = self.update_interval
        parameters = json.loads(self.parameters)
        if parameters:
            body["parameters"] = parameters
        return body


def _key(*fields: object) -> Key:
    source, value, from_date, to_date, interval, params = fields
    canonical = json.dumps(params or {}, sort_keys=True, separators=(",", ":"))
    return (
        str(source),
        str(value),
        str(from_date),
        str(to_date),
        interval if isinstance(interval, int) else None,
        canonical,
    )


def server_key(record: Mapping[str, Any]) -> Key:
    """The identity of a server task (a ``normalize.task_record``)."""
    return _key(
        record["source"],
        record.get("value"),
        record.get("from_date"),
        record.get("to_date"),
        record.get("update_interval"),
        record.get("parameters"),
    )


# ---------------------------------------------------------------------------- validation


def validate_tasks(raw: object) -> list[TaskSpec]:
    """Check every declaration; raise TaskValidationError listing every problem found."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TaskValidationError(["setting tasks must be a list of task objects"])
    validator = jsonschema.Draft7Validator(TASK_SCHEMA.to_dict())
    problems: list[str] = []
    specs: list[TaskSpec] = []
    seen: dict[Key, int] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            problems.append(f"tasks[{index}]: must be an object, got {type(item).__name__}")
            continue
        found = _schema_problems(validator, item) + _rule_problems(item)
        source = str(item.get("source", "?")).removeprefix(normalize.SEARCH_INDEX_PREFIX)
        label = f"tasks[{index}] ({source} {json.dumps(item.get('value', '?'))})"
        if found:
            problems.extend(f"{label}: {p}" for p in found)
            continue
        spec = TaskSpec(
            index=index,
            source=source,
            value=item["value"],
            from_date=item["from_date"],
            to_date=item["to_date"],
            update_interval=item.get("update_interval"),
            parameters=json.dumps(item.get("parameters") or {}, sort_keys=True),
        )
        if spec.key() in seen:
            problems.append(f"{label}: declared twice (same task as tasks[{seen[spec.key()]}])")
            continue
        seen[spec.key()] = index
        specs.append(spec)
    if problems:
        raise TaskValidationError(problems)
    return specs


def _schema_problems(validator: jsonschema.Draft7Validator, item: Mapping[str, Any]) -> list[str]:
    problems = []
    for error in sorted(validator.iter_errors(dict(item)), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in error.path)
        if error.validator == "required":
            name = error.message.split("'")[1] if "'" in error.message else error.message
            problems.append(f"missing required field {name}")
        elif error.validator == "additionalProperties":
            extra = sorted(set(item) - set(TASK_SCHEMA.to_dict()["properties"]))
            problems.append(f"unknown field(s) {', '.join(extra)}")
        elif error.validator == "type":
            expected = error.validator_value
            wanted = [expected] if isinstance(expected, str) else list(expected)
            wanted = [t for t in wanted if t != "null"]
            problems.append(f"field {where} must be of type {' or '.join(wanted)}")
        else:
            problems.append(f"field {where}: {error.message}")
    return problems


def _rule_problems(item: Mapping[str, Any]) -> list[str]:
    """The documented rules JSON Schema does not express (checked on well-typed fields)."""
    problems = []
    source = item.get("source")
    if isinstance(source, str):
        short = source.removeprefix(normalize.SEARCH_INDEX_PREFIX)
        if short not in normalize.KNOWN_SOURCES:
            problems.append(
                f"unknown source {source!r} (known: {', '.join(normalize.KNOWN_SOURCES)})"
            )
    else:
        short = None
    dates: dict[str, dt.date] = {}
    for name in ("from_date", "to_date"):
        text = item.get(name)
        if not isinstance(text, str):
            continue
        parsed = _parse_date(text)
        if parsed is None:
            problems.append(f"{name} {text!r} is not a date in yyyy-mm-dd format")
        else:
            dates[name] = parsed
    if len(dates) == 2 and dates["from_date"] > dates["to_date"]:
        problems.append(
            f"from_date {item['from_date']} is after to_date {item['to_date']} (needs from ≤ to)"
        )
    value = item.get("value")
    if isinstance(value, str):
        if not value.strip():
            problems.append("value is empty")
        elif short == "twitter_keywords" and len(value) > TWITTER_QUERY_MAX_CHARS:
            problems.append(
                f"value has {len(value)} characters; twitter_keywords allows at most "
                f"{TWITTER_QUERY_MAX_CHARS}"
            )
        elif short == "twitter_profile" and _OPERATORS.search(value):
            problems.append(
                "value uses operators (AND/OR); twitter_profile takes one profile per task"
            )
    interval = item.get("update_interval")
    if isinstance(interval, int) and not isinstance(interval, bool) and interval <= 0:
        problems.append(f"update_interval must be a positive integer, got {interval}")
    return problems


def _parse_date(text: str) -> dt.date | None:
    if not _DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


# ---------------------------------------------------------------------------- plan


@dataclass
class PlannedTask:
    """A declared task, what the plan does with it, and what has been done so far."""

    spec: TaskSpec
    task_id: str | None = None
    status: str = ""
    create: bool = False
    start: bool = False
    duplicates: list[str] = field(default_factory=list)
    created: bool = False
    started: bool = False

    def action(self, *, dry_run: bool = False) -> str:
        if dry_run:
            steps = [s for s, on in (("create", self.create), ("start", self.start)) if on]
            return "would " + " + ".join(steps) if steps else "keep"
        done = [s for s, on in (("created", self.created), ("started", self.started)) if on]
        pending = [
            s
            for s, on in (
                ("create", self.create and not self.created),
                ("start", self.start and not self.started),
            )
            if on
        ]
        if pending:
            return " + ".join([*done, f"NOT {' + '.join(pending)}"])
        return " + ".join(done) if done else "kept"


@dataclass
class ExtraTask:
    """A server task no declaration accounts for: undeclared, or a duplicate copy."""

    source: str
    task_id: str
    record: dict[str, Any]
    reason: str


@dataclass
class Plan:
    tasks: list[PlannedTask]
    extras: list[ExtraTask]
    #: Ids that existed per source before anything was created (to find new ids later).
    known_ids: dict[str, set[str]]


def make_plan(specs: list[TaskSpec], existing: Mapping[str, list[dict[str, Any]]]) -> Plan:
    """Match declarations to the server's tasks (``existing``: raw task lists by source)."""
    by_key: dict[Key, list[dict[str, Any]]] = {}
    known_ids: dict[str, set[str]] = {}
    for source, raw_tasks in existing.items():
        known_ids[source] = set()
        for position, raw in enumerate(raw_tasks):
            record = normalize.task_record(raw, source)
            record["_position"] = position
            if record["id"] is not None:
                known_ids[source].add(record["id"])
            by_key.setdefault(server_key(record), []).append(record)
    planned: list[PlannedTask] = []
    extras: list[ExtraTask] = []
    for spec in specs:
        matches = sorted(by_key.pop(spec.key(), []), key=_preference)
        if not matches:
            planned.append(PlannedTask(spec=spec, create=True, start=True))
            continue
        chosen, copies = matches[0], matches[1:]
        planned.append(
            PlannedTask(
                spec=spec,
                task_id=chosen["id"],
                status=chosen["status"],
                start=normalize.needs_start(chosen["status"]),
                duplicates=[str(c["id"]) for c in copies],
            )
        )
        extras.extend(
            ExtraTask(spec.source, str(c["id"]), c, f"duplicate of {chosen['id']}") for c in copies
        )
    for records in by_key.values():
        extras.extend(ExtraTask(r["source"], str(r["id"]), r, "not declared") for r in records)
    return Plan(planned, extras, known_ids)


def _preference(record: Mapping[str, Any]) -> tuple[int, str, int]:
    """Keep the most advanced copy: done, then collecting, then the rest; oldest first."""
    status = record["status"]
    rank = 0 if normalize.is_done(status) else 1 if normalize.is_active(status) else 2
    return (rank, record.get("created_at") or "", record["_position"])


def confirm_statuses(api: Data365Api, plan: Plan) -> None:
    """Re-read single-task status where the (lagging) list status says a start is needed.

    The list shows the last execution; a task started moments ago may still be listed as
    "created" while its own status is "running". Only those tasks cost a request.
    """
    for item in plan.tasks:
        if item.task_id is not None and item.start:
            item.status = normalize.task_status(api.get_task(item.spec.source, item.task_id))
            item.start = normalize.needs_start(item.status)


# ---------------------------------------------------------------------------- apply


class ApplyError(Data365Error):
    """Applying the plan stopped part-way; the plan's items say exactly what was done."""


def apply_plan(api: Data365Api, plan: Plan, *, start: bool) -> None:
    """Create missing tasks (one batch per source), then start the ones that need it."""
    for source, items in _by_source(t for t in plan.tasks if t.create).items():
        before = plan.known_ids.get(source, set())
        try:
            echoed = api.create_tasks(source, [t.spec.body() for t in items])
        except Data365Error as exc:
            # The server may have acted before failing (a 500, a dropped connection):
            # find out, so the report names every task that does exist now.
            _learn_ids(api, source, items, [], before, quiet=True)
            raise ApplyError(str(exc)) from None
        _learn_ids(api, source, items, echoed, before, quiet=False)
    if not start:
        return
    for item in plan.tasks:
        if item.start and item.task_id is not None and (item.created or not item.create):
            api.start_task(item.spec.source, item.task_id)
            item.started = True
            item.status = ""  # unknown until read again: the start only queues it


def _learn_ids(
    api: Data365Api,
    source: str,
    items: list[PlannedTask],
    echoed: list[dict[str, Any]],
    before: set[str],
    *,
    quiet: bool,
) -> None:
    """Give each created item its new id: from the create response, else from a re-list."""
    candidates = echoed
    if len(candidates) < len(items):
        try:
            candidates = api.list_tasks(source)
        except Data365Error:
            if quiet:
                return
            raise
    fresh: dict[Key, list[dict[str, Any]]] = {}
    for raw in candidates:
        record = normalize.task_record(raw, source)
        if record["id"] is not None and record["id"] not in before:
            fresh.setdefault(server_key(record), []).append(record)
    for item in items:
        copies = fresh.get(item.spec.key())
        if copies:
            record = copies.pop(0)
            item.task_id, item.status, item.created = record["id"], record["status"], True
            before.add(record["id"])
    missing = [t.spec.label for t in items if not t.created]
    if missing and not quiet:
        raise ApplyError(
            f"created tasks of {source} but the API did not list: {', '.join(missing)}"
        )


def _by_source(items: Iterable[PlannedTask]) -> dict[str, list[PlannedTask]]:
    grouped: dict[str, list[PlannedTask]] = {}
    for item in items:
        grouped.setdefault(item.spec.source, []).append(item)
    return grouped


# ---------------------------------------------------------------------------- wait


@dataclass
class WaitResult:
    done: list[PlannedTask]
    failed: list[PlannedTask]
    open: list[PlannedTask]
    elapsed: float


def wait_for(
    api: Data365Api,
    items: list[PlannedTask],
    *,
    timeout: float | None,
    poll_interval: float,
    max_interval: float = 120.0,
    on_poll: Callable[[dict[str, int], float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> WaitResult:
    """Poll each task's own status (the list lags) until done, failed or the deadline.

    The interval grows by half each round up to ``max_interval``: collection takes
    minutes, so fast early polls catch quick tasks and later ones cost few requests.
    """
    started = clock()
    deadline = None if timeout is None else started + timeout
    open_items = [t for t in items if t.task_id is not None]
    done: list[PlannedTask] = []
    failed: list[PlannedTask] = []
    interval = poll_interval
    while True:
        for item in list(open_items):
            assert item.task_id is not None  # filtered above; narrows the type
            item.status = normalize.task_status(api.get_task(item.spec.source, item.task_id))
            if normalize.is_done(item.status):
                open_items.remove(item)
                done.append(item)
            elif normalize.is_failed(item.status):
                open_items.remove(item)
                failed.append(item)
        elapsed = clock() - started
        if on_poll is not None:
            on_poll(status_counts(items), elapsed)
        if not open_items or (deadline is not None and clock() >= deadline):
            return WaitResult(done, failed, open_items, elapsed)
        pause = interval if deadline is None else min(interval, max(0.0, deadline - clock()))
        if pause > 0:
            sleep(pause)
        interval = min(max_interval, interval * 1.5)


def status_counts(items: Iterable[PlannedTask]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        key = item.status or "-"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))
