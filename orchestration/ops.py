"""The steps of `data365_all`: tables, sub-sources, one `meltano run` per sub-source, `sources`.

Every step shells out to Meltano (`meltano` from $MELTANO_BIN or PATH) in the project, with
the configuration Meltano itself reads (meltano.yml, .env, `TAP_DATA365_*`, the loader's
variables, `MELTANO_ENVIRONMENT`, `MELTANO_STATE_BACKEND_URI`, `MELTANO_DATABASE_URI` ...).
"""

# No `from __future__ import annotations`: Dagster reads the op signatures at import.

import contextlib
import json
import os
from collections.abc import Iterator

from dagster import (
    Backoff,
    ConfigurableResource,
    DynamicOut,
    DynamicOutput,
    Failure,
    In,
    Jitter,
    Nothing,
    OpExecutionContext,
    Out,
    Output,
    RetryPolicy,
    op,
)

from orchestration.project import EXTRACTOR, project_root, read_project
from orchestration.runner import Meltano, MeltanoFailed, run_after_the_other_run
from orchestration.sub_sources import (
    ACCOUNT_STREAM,
    RunSteps,
    SourcesSettingError,
    find_run_steps,
)
from orchestration.tables import prepare_tables

#: A crashed tap or loader, a dropped database connection, a worker restarted: the step runs
#: again (from the state the last attempt saved). A bad setting is not retried (`Failure`).
RETRY = RetryPolicy(max_retries=2, delay=5, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)


class MeltanoProjectResource(ConfigurableResource):  # type: ignore[type-arg]
    """The Meltano project the steps run in; set per run under `resources: meltano: config:`."""

    #: The loader; by default the one meltano.yml's jobs load tap-data365 into.
    loader: str = ""

    def meltano(self) -> Meltano:
        return Meltano.find(project_root(), os.environ.get("MELTANO_ENVIRONMENT"))

    def chosen_loader(self) -> str:
        return self.loader or read_project(project_root()).loader


@contextlib.contextmanager
def _meltano_failure_as_dagster() -> Iterator[None]:
    # The one place a step's failure becomes Dagster's `Failure`: it carries Meltano's last
    # lines into the run's event log, and decides the retry: a crash or a lost connection is
    # retried, a bad setting (the tap said so, or the `sources` setting is unusable) not.
    try:
        yield
    except MeltanoFailed as exc:
        raise Failure(description=str(exc), allow_retries=exc.transient) from None
    except SourcesSettingError as exc:
        raise Failure(description=str(exc), allow_retries=False) from None


def _meltano_run(
    context: OpExecutionContext, project: MeltanoProjectResource, suffix: str, env: dict[str, str]
) -> str:
    meltano, loader = project.meltano(), project.chosen_loader()
    args = ["run", "--no-install", f"--state-id-suffix={suffix}", EXTRACTOR, loader]
    with _meltano_failure_as_dagster():
        out = run_after_the_other_run(meltano, args, env=env, label=suffix, note=context.log.info)
    state_id = f"{meltano.environment or 'dev'}:{EXTRACTOR}-to-{loader}:{suffix}"
    loaded = ", ".join(f"{k}={v}" for k, v in sorted(out.loaded.items()))
    # The project folder tells which copy (host) ran the step.
    context.log.info(
        f"{suffix}: done in {meltano.root}, state id {state_id}; records loaded: {loaded or 'none'}"
    )
    return state_id


@op(retry_policy=RETRY, description="Create the loader's tables (SCHEMA messages, no record).")
def prepare_loader_tables(context: OpExecutionContext, meltano: MeltanoProjectResource) -> None:
    with _meltano_failure_as_dagster():
        streams = prepare_tables(meltano.meltano(), meltano.chosen_loader())
    context.log.info(f"tables ready for {', '.join(streams)}")


@op(
    ins={"tables": In(Nothing)},
    out={"steps": Out(RunSteps), "sub_sources": DynamicOut(str)},
    retry_policy=RETRY,
    description="The sub-sources, a step each: the `sources` setting, else every connected one.",
)
def plan_sub_sources(
    context: OpExecutionContext, meltano: MeltanoProjectResource
) -> Iterator[Output[RunSteps] | DynamicOutput[str]]:
    with _meltano_failure_as_dagster():
        steps = find_run_steps(meltano.meltano())
    context.log.info(f"sub-source steps: {', '.join(steps.sub_sources)}")
    yield Output(steps, output_name="steps")
    for name in steps.sub_sources:
        yield DynamicOutput(name, mapping_key=name, output_name="sub_sources")


@op(ins={"tables": In(Nothing)}, retry_policy=RETRY, description="One sub-source's sync.")
def sync_sub_source(
    context: OpExecutionContext, meltano: MeltanoProjectResource, steps: RunSteps, sub_source: str
) -> str:
    env = {
        "TAP_DATA365_SOURCES": json.dumps([sub_source]),
        "TAP_DATA365__SELECT": json.dumps(list(steps.sub_source_select)),
    }
    return _meltano_run(context, meltano, sub_source, env)


@op(ins={"tables": In(Nothing)}, retry_policy=RETRY, description="The `sources` stream, once.")
def load_account_stream(
    context: OpExecutionContext, meltano: MeltanoProjectResource, steps: RunSteps
) -> None:
    if not steps.account_select:
        context.log.info(f"stream {ACCOUNT_STREAM} is not selected: nothing to load")
        return
    env = {"TAP_DATA365__SELECT": json.dumps(list(steps.account_select))}
    _meltano_run(context, meltano, ACCOUNT_STREAM, env)


@op(description="Every sub-source step done: their state ids.")
def report(context: OpExecutionContext, state_ids: list[str]) -> None:
    context.log.info(f"{len(state_ids)} sub-source(s) synced: {', '.join(sorted(state_ids))}")
