"""`data365_all_celery`: the graph of `data365_all` on Celery workers spread over hosts.

Needs the `distributed` extra (dagster-celery[redis], dagster-aws, dagster-postgres); without
it `celery_job` returns None and the code location loads `data365_all` alone. Everything a
launcher and its workers must agree on comes from the environment, read when a run starts,
not when the code location loads:

- `DAGSTER_CELERY_BROKER_URL`, `DAGSTER_CELERY_BACKEND_URL`: Redis (`redis://host:6379/0`);
  the executor's settings are those of orchestration/celery.yaml, the file workers start
  with, so the launcher and the workers cannot drift apart.
- `DAGSTER_IO_S3_URI` (`s3://bucket/prefix`): step outputs. A step's inputs are read on
  whichever worker runs it; Dagster's default (the local filesystem) fails there with
  `FileNotFoundError`.
- `AWS_ENDPOINT_URL` (boto3's own variable) for an S3-compatible store that is not AWS.

Guide: orchestration/README.md ("Steps on several hosts").
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import yaml
from dagster import (
    ConfigurableIOManagerFactory,
    EnvVar,
    GraphDefinition,
    InitResourceContext,
    JobDefinition,
)

#: The Celery settings shared by the launcher (this job's executor) and the workers
#: (`dagster-celery worker start -y orchestration/celery.yaml`).
CELERY_YAML = Path(__file__).resolve().parent / "celery.yaml"
IO_URI_VARIABLE = "DAGSTER_IO_S3_URI"


class S3StepOutputs(ConfigurableIOManagerFactory):  # type: ignore[type-arg]
    """Step outputs pickled under `s3://bucket/prefix` (from `DAGSTER_IO_S3_URI`)."""

    uri: str

    def create_io_manager(self, context: InitResourceContext) -> Any:
        # Imported here: the extra may be missing where the code location only loads.
        from dagster_aws.s3 import PickledObjectS3IOManager, S3Resource  # noqa: PLC0415

        bucket, prefix = split_s3_uri(self.uri)
        # No endpoint given: boto3 reads AWS_ENDPOINT_URL (and the AWS_* credentials) itself.
        return PickledObjectS3IOManager(bucket, S3Resource().get_client(), s3_prefix=prefix)


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/prefix` -> (bucket, prefix); the prefix defaults to `dagster`."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket:
        msg = f"{IO_URI_VARIABLE}: not an s3://bucket/prefix URI: {uri!r}"
        raise ValueError(msg)
    return bucket, prefix.strip("/") or "dagster"


def executor_config() -> dict[str, Any]:
    """The `execution: config:` block of orchestration/celery.yaml."""
    document = yaml.safe_load(CELERY_YAML.read_text(encoding="utf-8"))
    return dict(document["execution"]["config"])


def quiet_duplicate_task_warning() -> None:
    """dagster-celery registers its Celery task again for every step it submits, and Celery
    warns each time (`DuplicateTaskNameWarning`): harmless, so that one warning is dropped."""
    from celery.exceptions import DuplicateTaskNameWarning  # noqa: PLC0415

    warnings.filterwarnings("ignore", category=DuplicateTaskNameWarning)


def celery_job(
    graph: GraphDefinition, resources: dict[str, Any], tags: dict[str, str]
) -> JobDefinition | None:
    """`data365_all_celery` from the graph of `data365_all`, its resources (the step
    outputs' IO manager added) and its tags; None without the extra."""
    try:
        from dagster_celery import celery_executor  # noqa: PLC0415
    except ImportError:
        return None
    quiet_duplicate_task_warning()
    return graph.to_job(
        name="data365_all_celery",
        description=f"{graph.description} On Celery workers (orchestration/README.md).",
        executor_def=celery_executor,
        resource_defs={**resources, "io_manager": S3StepOutputs(uri=EnvVar(IO_URI_VARIABLE))},
        config={"execution": {"config": executor_config()}},
        tags=tags,
    )
