"""The Dagster code location: `dagster dev -f orchestration/definitions.py` (guide:
orchestration/README.md).

Job `data365_all`: the loader's tables first (one serial step), then one step per
sub-source — each its own `meltano run tap-data365 LOADER --state-id-suffix=<sub-source>`,
so sub-sources never share or overwrite state — at most `max_concurrent` at once, next to
one load of the account-wide `sources` stream. A schedule per meltano.yml schedule.
Job `data365_all_celery` (with the `distributed` extra): the same graph on Celery workers
spread over several hosts (orchestration/distributed.py).
"""

from __future__ import annotations

from dagster import (
    DagsterRunStatus,
    Definitions,
    RunRequest,
    RunsFilter,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    graph,
    schedule,
)

from orchestration.distributed import celery_job
from orchestration.ops import (
    MeltanoProjectResource,
    load_account_stream,
    plan_sub_sources,
    prepare_loader_tables,
    report,
    sync_sub_source,
)
from orchestration.project import Schedule, project_root, read_project

#: Sub-source steps (and the `sources` step) running at once; Dagster's own default is the CPU
#: count, too few for steps that mostly wait on the API. Override in the run config:
#: `execution: {config: {multiprocess: {max_concurrent: N}}}`.
MAX_CONCURRENT = 8
#: The tag of every run of the sub-source steps: orchestration/dagster.yaml limits the runs
#: holding it to one at a time (two runs of one sub-source would read the same state).
RUN_TAGS = {"data365/sub-sources": "all"}
_UNFINISHED = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


@graph(
    description="Every sub-source of tap-data365 as a step of its own, into the project's loader."
)
def every_sub_source() -> None:
    tables = prepare_loader_tables()
    # After the tables step: Meltano migrates a new system database on its first command,
    # and two first commands at once would race on it.
    steps, sub_sources = plan_sub_sources(tables)
    synced = sub_sources.map(
        lambda name: sync_sub_source(steps=steps, sub_source=name, tables=tables)
    )
    load_account_stream(steps=steps, tables=tables)
    report(synced.collect())


#: On this host: Dagster's multiprocess executor, step outputs on the local filesystem.
data365_all = every_sub_source.to_job(
    name="data365_all",
    config={"execution": {"config": {"multiprocess": {"max_concurrent": MAX_CONCURRENT}}}},
    tags=RUN_TAGS,
)
#: On Celery workers (other hosts); None without the `distributed` extra installed.
data365_all_celery = celery_job(every_sub_source, {"meltano": MeltanoProjectResource()}, RUN_TAGS)


def _schedule(spec: Schedule) -> ScheduleDefinition:
    @schedule(
        name=spec.name.replace("-", "_"),
        cron_schedule=spec.cron,
        job=data365_all,
        description=f"meltano.yml schedule {spec.name} ({spec.cron})",
    )
    def _evaluate(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        # Two runs of one sub-source at once would read the same state and load the same
        # posts twice: a tick that finds the last run still going waits for the next tick.
        running = context.instance.get_runs_count(
            RunsFilter(job_name=data365_all.name, statuses=_UNFINISHED)
        )
        if running:
            return SkipReason(f"{data365_all.name} is still running ({running} run)")
        return RunRequest()

    return _evaluate


defs = Definitions(
    jobs=[data365_all] + ([data365_all_celery] if data365_all_celery else []),
    resources={"meltano": MeltanoProjectResource()},
    schedules=[_schedule(s) for s in read_project(project_root()).schedules],
)
