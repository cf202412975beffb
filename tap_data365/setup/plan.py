"""Declared tasks vs the tasks on the server: a plan, applying it, waiting for it.

The plan creates only what has no match on the server (``specs.TaskSpec.key``),
starts only what is neither collecting nor done, and reports extra server copies as
duplicates (it never removes or multiplies them). Every API call goes through
``api.Data365Api``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tap_data365 import normalize
from tap_data365.errors import Data365Error, RetryUnsafeError
from tap_data365.http.retry import backoff_waits
from tap_data365.setup.control_api import Data365Api
from tap_data365.setup.specs import Key, TaskSpec, server_key

# ---------------------------------------------------------------------------- plan


@dataclass
class PlannedTask:
    """A declared task, what the plan does with it, and what has been done so far."""

    spec: TaskSpec
    task_id: str | None = None
    status: str = ""
    create: bool = False
    start: bool = False
    #: False with --no-start: the plan then never starts this task, whatever its status.
    start_allowed: bool = True
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
class SetupPlan:
    """The declared tasks matched to the server's: what setup creates and starts in each,
    and the server tasks no declaration accounts for (reported, never touched)."""

    tasks: list[PlannedTask]
    extras: list[ExtraTask]
    #: Ids that existed per source before anything was created (to find new ids later).
    known_ids: dict[str, set[str]]


def make_setup_plan(
    specs: list[TaskSpec], existing: Mapping[str, list[dict[str, Any]]]
) -> SetupPlan:
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
    return SetupPlan(planned, extras, known_ids)


def _preference(record: Mapping[str, Any]) -> tuple[int, str, int]:
    """Keep the most advanced copy: done, then collecting, then the rest; oldest first."""
    status = record["status"]
    rank = 0 if normalize.is_done(status) else 1 if normalize.is_active(status) else 2
    return (rank, record.get("created_at") or "", record["_position"])


def confirm_statuses(api: Data365Api, plan: SetupPlan) -> None:
    """Re-read the own status of every matched task before deciding to start it.

    The list shows the last execution, the task's own status the newest: a task started
    moments ago may be listed "created", one canceled since may still be listed "running".
    Trusting either would start a running task or leave a canceled one stopped.
    """
    for item in plan.tasks:
        if item.task_id is not None:
            item.status = normalize.task_status(api.get_task(item.spec.source, item.task_id))
            item.start = item.start_allowed and normalize.needs_start(item.status)


# ---------------------------------------------------------------------------- apply


class ApplyError(Data365Error):
    """Applying the plan stopped part-way; the plan's items say exactly what was done."""


def apply_setup_plan(api: Data365Api, plan: SetupPlan, *, start: bool) -> None:
    """Create missing tasks (one batch per source), then start the ones that need it."""
    for source, items in _by_source(t for t in plan.tasks if t.create).items():
        _create_batch(api, source, items, plan.known_ids.setdefault(source, set()))
    if not start:
        return
    for item in plan.tasks:
        if item.start and item.task_id is not None and (item.created or not item.create):
            api.start_task(item.spec.source, item.task_id)
            item.started = True
            item.status = ""  # unknown until read again: the start only queues it


def _create_batch(api: Data365Api, source: str, items: list[PlannedTask], before: set[str]) -> None:
    """One create request for the source; after an ambiguous failure, look, then resend
    only what is still missing. A blind retry could append a second copy of a task."""
    waits = backoff_waits()
    for attempt in range(api.max_retries + 1):
        missing = [t for t in items if not t.created]
        try:
            echoed = api.create_tasks(source, [t.spec.body() for t in missing])
        except RetryUnsafeError as exc:
            looked = _learn_ids(api, source, missing, [], before, quiet=True)
            if all(t.created for t in items):
                return
            if not looked or attempt == api.max_retries:
                # Without a fresh list a resend could duplicate: stop and say so.
                raise ApplyError(str(exc)) from None
            api.pause(next(waits))
            continue
        except Data365Error as exc:
            raise ApplyError(str(exc)) from None
        _learn_ids(api, source, missing, echoed, before, quiet=False)
        return


def _learn_ids(
    api: Data365Api,
    source: str,
    items: list[PlannedTask],
    echoed: list[dict[str, Any]],
    before: set[str],
    *,
    quiet: bool,
) -> bool:
    """Give each created item its new id: from the create response, else from a re-list.

    Returns False when the list could not be read (only with ``quiet``).
    """
    candidates = echoed
    if len(candidates) < len(items):
        try:
            candidates = api.list_tasks(source)
        except Data365Error:
            if quiet:
                return False
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
    return True


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
