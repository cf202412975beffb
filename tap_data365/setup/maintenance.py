"""Task maintenance: ``setup status``, ``setup cancel``, ``setup remove [--prune]``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from tap_data365 import normalize
from tap_data365.errors import EXIT_ERROR, EXIT_OK, Data365Error
from tap_data365.setup.common import (
    MaskedConsole,
    config_option,
    json_option,
    load,
    make_api,
    report_invalid,
)
from tap_data365.setup.control_api import Data365Api
from tap_data365.setup.plan import ApplyError, SetupPlan, make_setup_plan
from tap_data365.setup.report import render_table
from tap_data365.setup.specs import TaskSpec, validate_tasks


@click.command()
@config_option
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable).")
@click.option("--fresh", is_flag=True, help="Read each task's own status (the list lags).")
@json_option
@click.pass_context
def status(
    ctx: click.Context,
    configs: tuple[str, ...],
    sources: tuple[str, ...],
    fresh: bool,
    as_json: bool,
) -> None:
    """Show every task on the server, and which declaration it belongs to."""
    out = MaskedConsole()
    try:
        settings = load(ctx, configs)
        specs = validate_tasks(settings.tasks)
    except Data365Error as exc:
        ctx.exit(report_invalid(out, exc))
    with make_api(settings) as api:
        try:
            plan = _survey(api, specs, sources)
            rows = _status_rows(api, plan, fresh=fresh)
        except Data365Error as exc:
            out.fail(str(exc))
            ctx.exit(EXIT_ERROR)
    if as_json:
        out.out(json.dumps(rows, indent=2))
    else:
        headers = ["source", "value", "from", "to", "id", "status", "declared"]
        out.out(render_table(headers, [[r[h] for h in headers] for r in rows]))
        out.out(f"{len(rows)} task(s) on the server")
    ctx.exit(EXIT_OK)


def _survey(api: Data365Api, specs: list[TaskSpec], only: Sequence[str]) -> SetupPlan:
    sources = list(only) or api.connected_sources()
    return make_setup_plan(
        [s for s in specs if s.source in sources],
        {source: api.list_tasks(source) for source in sources},
    )


def _status_rows(api: Data365Api, plan: SetupPlan, *, fresh: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for item in plan.tasks:
        if item.task_id is None:
            continue
        rows.append(
            {
                "source": item.spec.source,
                "value": item.spec.value,
                "from": item.spec.from_date,
                "to": item.spec.to_date,
                "id": item.task_id,
                "status": item.status,
                "declared": f"tasks[{item.spec.index}]",
            }
        )
    for extra in plan.extras:
        record = extra.record
        rows.append(
            {
                "source": extra.source,
                "value": record.get("value"),
                "from": record.get("from_date"),
                "to": record.get("to_date"),
                "id": extra.task_id,
                "status": record.get("status"),
                "declared": "no" if extra.reason == "not declared" else extra.reason,
            }
        )
    if fresh:
        for row in rows:
            row["status"] = normalize.task_status(api.get_task(row["source"], row["id"]))
    return sorted(rows, key=lambda r: (r["source"], str(r["value"]), str(r["id"])))


@click.command()
@config_option
@click.option("--source", required=True, help="The source of the task(s).")
@click.option("--id", "task_id", help="Cancel this task.")
@click.option("--all", "cancel_all", is_flag=True, help="Cancel every task of --source.")
@click.pass_context
def cancel(
    ctx: click.Context,
    configs: tuple[str, ...],
    source: str,
    task_id: str | None,
    cancel_all: bool,
) -> None:
    """Cancel one task (--id) or all tasks of a source (--all)."""
    if bool(task_id) == cancel_all:
        raise click.UsageError("give exactly one of --id ID or --all")
    out = MaskedConsole()
    try:
        settings = load(ctx, configs)
    except Data365Error as exc:
        ctx.exit(report_invalid(out, exc))
    with make_api(settings) as api:
        try:
            if task_id:
                api.cancel_task(source, task_id)
                out.out(f"canceled task {task_id} of {source}")
            else:
                api.cancel_all(source)
                out.out(f"canceled all tasks of {source}")
        except Data365Error as exc:
            out.fail(str(exc))
            ctx.exit(EXIT_ERROR)
    ctx.exit(EXIT_OK)


@click.command()
@config_option
@click.option("--source", "sources", multiple=True, help="Source of --id; with --prune: limit.")
@click.option("--id", "task_id", help="Remove this task.")
@click.option("--prune", is_flag=True, help="Remove every task not declared in setting tasks.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def remove(  # noqa: PLR0917
    ctx: click.Context,
    configs: tuple[str, ...],
    sources: tuple[str, ...],
    task_id: str | None,
    prune: bool,
    yes: bool,
) -> None:
    """Remove one task (--source S --id ID), or --prune undeclared tasks and duplicates."""
    if bool(task_id) == prune:
        raise click.UsageError("give exactly one of --id ID (with --source) or --prune")
    if task_id and len(sources) != 1:
        raise click.UsageError("--id needs exactly one --source")
    out = MaskedConsole()
    try:
        settings = load(ctx, configs)
        specs = validate_tasks(settings.tasks) if prune else []
    except Data365Error as exc:
        ctx.exit(report_invalid(out, exc))
    with make_api(settings) as api:
        try:
            if task_id:
                api.remove_task(sources[0], task_id)
                out.out(f"removed task {task_id} of {sources[0]}")
                ctx.exit(EXIT_OK)
            ctx.exit(_prune(api, _survey(api, specs, sources), out, yes=yes))
        except Data365Error as exc:
            out.fail(str(exc))
            ctx.exit(EXIT_ERROR)


def _prune(api: Data365Api, plan: SetupPlan, out: MaskedConsole, *, yes: bool) -> int:
    if not plan.extras:
        out.out("nothing to prune: every task on the server is declared")
        return EXIT_OK
    rows = [
        [e.source, e.record.get("value"), e.task_id, e.record.get("status"), e.reason]
        for e in plan.extras
    ]
    out.out(render_table(["source", "value", "id", "status", "why"], rows))
    if not yes and not click.confirm(f"Remove these {len(rows)} task(s)?", err=True):
        out.out("nothing removed")
        return EXIT_ERROR
    removed: list[str] = []
    try:
        for extra in plan.extras:
            api.remove_task(extra.source, extra.task_id)
            removed.append(extra.task_id)
    except Data365Error as exc:
        msg = f"{exc}; removed before the failure: {', '.join(removed) or 'none'}"
        raise ApplyError(msg) from None
    out.out(f"removed {len(removed)} task(s)")
    return EXIT_OK
