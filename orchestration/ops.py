"""The steps of `data365_all`: tables, plan, one `meltano run` per partition, `sources` once.

Every step shells out to Meltano (`meltano` from $MELTANO_BIN or PATH) in the project, with
the configuration Meltano itself reads (meltano.yml, .env, `TAP_DATA365_*`, the loader's
variables, `MELTANO_ENVIRONMENT`, `MELTANO_STATE_BACKEND_URI`, `MELTANO_DATABASE_URI` ...).
"""

# No `from __future__ import annotations`: Dagster reads the op signatures at import.

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

from orchestration.plan import ACCOUNT_STREAM, Plan, make_plan
from orchestration.project import EXTRACTOR, project_root, read_project
from orchestration.runner import Meltano, MeltanoFailed
from orchestration.tables import prepare_tables

#: A crashed tap or loader, a dropped database connection, a worker restarted: the step runs
#: again (from the state the last attempt saved). A bad setting is not retried (`Failure`).
RETRY = RetryPolicy(max_retries=2, delay=5, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)


class MeltanoProject(ConfigurableResource):  # type: ignore[type-arg]
    """The Meltano project the steps run in; set per run under `resources: meltano: config:`."""

    #: The loader; by default the one meltano.yml's jobs load tap-data365 into.
    loader: str = ""

    def meltano(self) -> Meltano:
        return Meltano.find(project_root(), os.environ.get("MELTANO_ENVIRONMENT"))

    def chosen_loader(self) -> str:
        return self.loader or read_project(project_root()).loader


def _meltano_run(
    context: OpExecutionContext, project: MeltanoProject, suffix: str, env: dict[str, str]
) -> str:
    meltano, loader = project.meltano(), project.chosen_loader()
    args = ["run", "--no-install", f"--state-id-suffix={suffix}", EXTRACTOR, loader]
    try:
        out = meltano.run(args, env=env, label=suffix)
    except MeltanoFailed as exc:
        raise Failure(description=str(exc), allow_retries=exc.transient) from None
    state_id = f"{meltano.environment or 'dev'}:{EXTRACTOR}-to-{loader}:{suffix}"
    loaded = ", ".join(f"{k}={v}" for k, v in sorted(out.loaded.items()))
    context.log.info(f"{suffix}: done, state id {state_id}; records loaded: {loaded or 'none'}")
    return state_id


@op(retry_policy=RETRY, description="Create the loader's tables (SCHEMA messages, no record).")
def prepare_loader_tables(context: OpExecutionContext, meltano: MeltanoProject) -> None:
    try:
        streams = prepare_tables(meltano.meltano(), meltano.chosen_loader())
    except MeltanoFailed as exc:
        raise Failure(description=str(exc), allow_retries=exc.transient) from None
    context.log.info(f"tables ready for {', '.join(streams)}")


@op(
    ins={"tables": In(Nothing)},
    out={"plan": Out(Plan), "sub_sources": DynamicOut(str)},
    retry_policy=RETRY,
    description="The partitions: the `sources` setting, else every connected sub-source.",
)
def plan_partitions(
    context: OpExecutionContext, meltano: MeltanoProject
) -> Iterator[Output[Plan] | DynamicOutput[str]]:
    try:
        plan = make_plan(meltano.meltano())
    except MeltanoFailed as exc:
        raise Failure(description=str(exc), allow_retries=exc.transient) from None
    except ValueError as exc:  # PlanError, a setting at fault
        raise Failure(description=str(exc), allow_retries=False) from None
    context.log.info(f"partitions: {', '.join(plan.sub_sources)}")
    yield Output(plan, output_name="plan")
    for name in plan.sub_sources:
        yield DynamicOutput(name, mapping_key=name, output_name="sub_sources")


@op(ins={"tables": In(Nothing)}, retry_policy=RETRY, description="One sub-source's sync.")
def sync_sub_source(
    context: OpExecutionContext, meltano: MeltanoProject, plan: Plan, sub_source: str
) -> str:
    env = {
        "TAP_DATA365_SOURCES": json.dumps([sub_source]),
        "TAP_DATA365__SELECT": json.dumps(list(plan.partition_select)),
    }
    return _meltano_run(context, meltano, sub_source, env)


@op(ins={"tables": In(Nothing)}, retry_policy=RETRY, description="The `sources` stream, once.")
def load_account_stream(context: OpExecutionContext, meltano: MeltanoProject, plan: Plan) -> None:
    if not plan.account_select:
        context.log.info(f"stream {ACCOUNT_STREAM} is not selected: nothing to load")
        return
    env = {"TAP_DATA365__SELECT": json.dumps(list(plan.account_select))}
    _meltano_run(context, meltano, ACCOUNT_STREAM, env)


@op(description="Every partition done: their state ids.")
def report(context: OpExecutionContext, state_ids: list[str]) -> None:
    context.log.info(f"{len(state_ids)} partition(s) synced: {', '.join(sorted(state_ids))}")
