"""``tap-data365 setup``: declared collection tasks → running tasks, plus maintenance.

    tap-data365 setup --config FILE|ENV [--dry-run] [--no-start] [--wait] [--timeout S] [--json]
    tap-data365 setup status|cancel|remove ...

Exit codes: 0 every declared task in place (and done, with --wait); 1 API or runtime
error; 2 bad settings, task declarations or usage (nothing sent); 3 a task failed or was
canceled while waiting; 4 --timeout reached with tasks still open.

Everything printed goes through ``common.MaskedConsole``, which masks the key and token.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from tap_data365.errors import (
    EXIT_ERROR,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_TASK_FAILED,
    EXIT_TIMEOUT,
    ConfigError,
    Data365Error,
)
from tap_data365.settings import Settings, load_settings
from tap_data365.setup.common import (
    PROG,
    MaskedConsole,
    config_option,
    json_option,
    make_api,
    report_invalid,
)
from tap_data365.setup.control_api import Data365Api
from tap_data365.setup.maintenance import cancel, remove, status
from tap_data365.setup.plan import apply_setup_plan, confirm_statuses, make_setup_plan, wait_for
from tap_data365.setup.progress import Progress
from tap_data365.setup.report import SetupReport
from tap_data365.setup.specs import TaskSpec, validate_tasks


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


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@config_option
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
@json_option
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
) -> None:
    """Create, start and (optionally) wait for the collection tasks of setting `tasks`."""
    ctx.obj = {"configs": configs}
    if ctx.invoked_subcommand is not None:
        return  # the subcommand does the work; it may use this --config
    out = MaskedConsole()
    report = SetupReport(dry_run=dry_run)
    try:
        settings = load_settings(configs)
        specs = validate_tasks(settings.tasks)
    except Data365Error as exc:
        ctx.exit(report_invalid(out, exc))
    with make_api(settings) as api:
        try:
            _run_setup(
                api,
                settings,
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
    if as_json:
        out.out(report.as_json())
    elif report.tasks or not report.error:
        out.out(report.as_text())  # a failure before the plan existed has nothing to show
    if report.error:
        out.fail(report.error + _created_note(report))
    ctx.exit(report.exit_code)


def _run_setup(
    api: Data365Api,
    settings: Settings,
    specs: list[TaskSpec],
    report: SetupReport,
    out: MaskedConsole,
    *,
    dry_run: bool,
    start: bool,
    wait: bool,
    timeout: float | None,
    poll_interval: float,
) -> None:
    token = settings.data365_token
    if token:
        if dry_run:
            report.token = "would register"  # noqa: S105
        else:
            api.register_token(token)
            report.token = "registered"  # noqa: S105
    declared = list(dict.fromkeys(s.source for s in specs))
    if declared:
        _check_connected(api, declared, dry_run=dry_run and bool(token))
    plan = make_setup_plan(specs, {source: api.list_tasks(source) for source in declared})
    report.tasks = plan.tasks
    if not start:
        for item in plan.tasks:
            item.start = item.start_allowed = False
    confirm_statuses(api, plan)
    if dry_run:
        return
    apply_setup_plan(api, plan, start=start)
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
    """Name every task created before a failure (a dry run or a wait creates nothing)."""
    if report.dry_run or report.exit_code in {EXIT_TASK_FAILED, EXIT_TIMEOUT}:
        return ""
    created = [f"{t.spec.label} id {t.task_id}" for t in report.tasks if t.created]
    return f"; created before the failure: {', '.join(created) if created else 'none'}"


for _command in (status, cancel, remove):
    setup.add_command(_command)
