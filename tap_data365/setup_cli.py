"""``tap-data365 setup``: declared collection tasks → running tasks, plus maintenance.

    tap-data365 setup --config FILE|ENV [--dry-run] [--no-start] [--wait] [--timeout S] [--json]
    tap-data365 setup status|cancel|remove ...

Exit codes: 0 every declared task in place (and done, with --wait); 1 API or runtime
error; 2 bad settings, task declarations or usage (nothing sent); 3 a task failed or was
canceled while waiting; 4 --timeout reached with tasks still open.

All output goes through ``Output``, which masks the API key and the token: they are
never formatted into a message on purpose, and the mask makes that hold even by mistake.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from tap_data365 import normalize
from tap_data365.api import Data365Api
from tap_data365.errors import ConfigError, Data365Error
from tap_data365.progress import Progress
from tap_data365.report import SetupReport, render_table
from tap_data365.setup_config import SECRET_SETTINGS, load_config
from tap_data365.tasks import (
    ApplyError,
    Plan,
    TaskValidationError,
    apply_plan,
    confirm_statuses,
    make_plan,
    validate_tasks,
    wait_for,
)

EXIT_OK, EXIT_ERROR, EXIT_INVALID, EXIT_TASK_FAILED, EXIT_TIMEOUT = 0, 1, 2, 3, 4
PROG = "tap-data365 setup"


class Output:
    """stdout for the report, stderr for progress and errors; secrets masked in both."""

    def __init__(self) -> None:
        self.secrets: list[str] = []

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def out(self, text: str) -> None:
        click.echo(self.mask(text))

    def err(self, text: str, *, nl: bool = True) -> None:
        click.echo(self.mask(text), err=True, nl=nl)

    def fail(self, message: str) -> None:
        self.err(f"{PROG}: error: {message}")


def run(args: Sequence[str]) -> int:
    """Run the setup command family; returns the exit code (no traceback for known errors)."""
    try:
        result = setup.main(args=list(args), prog_name=PROG, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo(f"{PROG}: aborted", err=True)
        return EXIT_ERROR
    except click.ClickException as exc:
        click.echo(f"{PROG}: error: {exc.format_message()}", err=True)
        return EXIT_INVALID
    return result if isinstance(result, int) else EXIT_OK


def _config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "configs",
        multiple=True,
        metavar="FILE|ENV",
        help="JSON settings file, or ENV for TAP_DATA365_* variables; repeatable, "
        "merged left to right.",
    )(func)


def _json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@_config_option
@click.option("--dry-run", is_flag=True, help="Print the plan; send nothing that writes.")
@click.option("--no-start", is_flag=True, help="Create missing tasks but start none.")
@click.option("--wait", is_flag=True, help="Poll until every task is complete or finished.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    help="With --wait: give up after SECONDS, naming the open tasks (implies --wait).",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    envvar="TAP_DATA365_SETUP_POLL_INTERVAL",
    help="First pause between status polls; grows by half each round up to 120 s.",
)
@_json_option
@click.pass_context
def setup(  # noqa: PLR0917
    ctx: click.Context,
    configs: tuple[str, ...],
    dry_run: bool,
    no_start: bool,
    wait: bool,
    timeout: float | None,
    poll_interval: float,
    as_json: bool,
) -> int | None:
    """Create, start and (optionally) wait for the collection tasks of setting `tasks`."""
    ctx.obj = {"configs": configs}
    if ctx.invoked_subcommand is not None:
        return None  # the subcommand does the work; it may use this --config
    out = Output()
    report = SetupReport(dry_run=dry_run)
    try:
        config = load_config(configs)
        out.secrets = _secrets(config)
        specs = validate_tasks(config.get("tasks"))
    except Data365Error as exc:
        return _invalid(out, exc)
    with _api(config) as api:
        try:
            _run_setup(
                api,
                config,
                specs,
                report,
                out,
                dry_run=dry_run,
                start=not no_start,
                wait=wait or timeout is not None,
                timeout=timeout,
                poll_interval=poll_interval,
            )
        except Data365Error as exc:
            report.error, report.exit_code = str(exc), EXIT_ERROR
        except KeyboardInterrupt:
            report.error, report.exit_code = "interrupted", EXIT_ERROR
        report.requests, report.writes = api.stats.total, api.stats.writes
    out.out(report.as_json() if as_json else report.as_text())
    if report.error:
        out.fail(report.error + _created_note(report))
    return report.exit_code


def _run_setup(
    api: Data365Api,
    config: dict[str, Any],
    specs: list[Any],
    report: SetupReport,
    out: Output,
    *,
    dry_run: bool,
    start: bool,
    wait: bool,
    timeout: float | None,
    poll_interval: float,
) -> None:
    token = config.get("data365_token")
    if token:
        if dry_run:
            report.token = "would register"  # noqa: S105
        else:
            api.register_token(token)
            report.token = "registered"  # noqa: S105
    declared = list(dict.fromkeys(s.source for s in specs))
    if declared:
        _check_connected(api, declared, dry_run=dry_run and bool(token))
    plan = make_plan(specs, {source: api.list_tasks(source) for source in declared})
    report.tasks = plan.tasks
    if not start:
        for item in plan.tasks:
            item.start = False
    confirm_statuses(api, plan)
    if dry_run:
        return
    apply_plan(api, plan, start=start)
    if not wait:
        return
    progress = Progress(lambda s: out.err(s, nl=False), live=sys.stderr.isatty())
    try:
        result = wait_for(
            api, plan.tasks, timeout=timeout, poll_interval=poll_interval, on_poll=progress
        )
    finally:
        progress.close()
    report.wait = result
    if result.failed:
        names = ", ".join(f"{t.spec.label} [{t.status}]" for t in result.failed)
        report.error, report.exit_code = f"task(s) ended without data: {names}", EXIT_TASK_FAILED
    elif result.open:
        report.timed_out = True
        names = ", ".join(f"{t.spec.label} id {t.task_id} [{t.status or '-'}]" for t in result.open)
        report.error = f"--timeout reached after {result.elapsed:.0f} s; still open: {names}"
        report.exit_code = EXIT_TIMEOUT


def _check_connected(api: Data365Api, declared: list[str], *, dry_run: bool) -> None:
    connected = set(api.connected_sources())
    missing = [s for s in declared if s not in connected]
    if missing:
        hint = " (not registered: --dry-run skips the token)" if dry_run else ""
        raise ConfigError(
            f"source(s) not connected to this Datastreamer account: {', '.join(missing)}"
            f"{hint}; connect them (register data365_token) or remove their tasks; "
            "no task was created"
        )


def _created_note(report: SetupReport) -> str:
    if report.dry_run or not report.tasks:
        return ""
    created = [f"{t.spec.label} id {t.task_id}" for t in report.tasks if t.created]
    if report.exit_code in {EXIT_TASK_FAILED, EXIT_TIMEOUT}:
        return ""
    return f"; created before the failure: {', '.join(created) if created else 'none'}"


def _invalid(out: Output, exc: Data365Error) -> int:
    if isinstance(exc, TaskValidationError):
        for problem in exc.problems:
            out.err(f"{PROG}: invalid task: {problem}")
        out.fail(f"{exc}; nothing was sent")
    else:
        out.fail(str(exc))
    return EXIT_INVALID


def _secrets(config: dict[str, Any]) -> list[str]:
    return [str(config[k]) for k in SECRET_SETTINGS if config.get(k)]


def _api(config: dict[str, Any]) -> Data365Api:
    return Data365Api(
        str(config["api_url"]),
        str(config["api_key"]),
        timeout=float(config["request_timeout"]),
        max_retries=int(config["max_retries"]),
    )


def _load(ctx: click.Context, configs: tuple[str, ...], out: Output) -> dict[str, Any]:
    config = load_config(configs or ctx.obj.get("configs", ()))
    out.secrets = _secrets(config)
    return config


# ---------------------------------------------------------------------------- maintenance


@setup.command()
@_config_option
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable).")
@click.option("--fresh", is_flag=True, help="Read each task's own status (the list lags).")
@_json_option
@click.pass_context
def status(
    ctx: click.Context,
    configs: tuple[str, ...],
    sources: tuple[str, ...],
    fresh: bool,
    as_json: bool,
) -> int:
    """Show every task on the server, and which declaration it belongs to."""
    out = Output()
    try:
        config = _load(ctx, configs, out)
        specs = validate_tasks(config.get("tasks"))
    except Data365Error as exc:
        return _invalid(out, exc)
    with _api(config) as api:
        try:
            plan = _survey(api, specs, sources)
            rows = _status_rows(api, plan, fresh=fresh)
        except Data365Error as exc:
            out.fail(str(exc))
            return EXIT_ERROR
    if as_json:
        import json  # noqa: PLC0415  (only this path needs it)

        out.out(json.dumps(rows, indent=2))
    else:
        headers = ["source", "value", "from", "to", "id", "status", "declared"]
        out.out(render_table(headers, [[r[h] for h in headers] for r in rows]))
        out.out(f"{len(rows)} task(s) on the server")
    return EXIT_OK


def _survey(api: Data365Api, specs: list[Any], only: Sequence[str]) -> Plan:
    sources = list(only) or api.connected_sources()
    return make_plan(
        [s for s in specs if s.source in sources],
        {source: api.list_tasks(source) for source in sources},
    )


def _status_rows(api: Data365Api, plan: Plan, *, fresh: bool) -> list[dict[str, Any]]:
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


@setup.command()
@_config_option
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
) -> int:
    """Cancel one task (--id) or all tasks of a source (--all)."""
    if bool(task_id) == cancel_all:
        raise click.UsageError("give exactly one of --id ID or --all")
    out = Output()
    try:
        config = _load(ctx, configs, out)
    except Data365Error as exc:
        return _invalid(out, exc)
    with _api(config) as api:
        try:
            if task_id:
                api.cancel_task(source, task_id)
                out.out(f"canceled task {task_id} of {source}")
            else:
                api.cancel_all(source)
                out.out(f"canceled all tasks of {source}")
        except Data365Error as exc:
            out.fail(str(exc))
            return EXIT_ERROR
    return EXIT_OK


@setup.command()
@_config_option
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
) -> int:
    """Remove one task (--source S --id ID), or --prune undeclared tasks and duplicates."""
    if bool(task_id) == prune:
        raise click.UsageError("give exactly one of --id ID (with --source) or --prune")
    if task_id and len(sources) != 1:
        raise click.UsageError("--id needs exactly one --source")
    out = Output()
    try:
        config = _load(ctx, configs, out)
        specs = validate_tasks(config.get("tasks")) if prune else []
    except Data365Error as exc:
        return _invalid(out, exc)
    with _api(config) as api:
        try:
            if task_id:
                api.remove_task(sources[0], task_id)
                out.out(f"removed task {task_id} of {sources[0]}")
                return EXIT_OK
            return _prune(api, _survey(api, specs, sources), out, yes=yes)
        except Data365Error as exc:
            out.fail(str(exc))
            return EXIT_ERROR


def _prune(api: Data365Api, plan: Plan, out: Output, *, yes: bool) -> int:
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
