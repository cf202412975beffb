"""The Dagster code location without running it: it loads and validates, meltano.yml's job and
schedules become Dagster's, and the select rules split between sub-source steps and `sources`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dagster import ScheduleDefinition

from orchestration.definitions import data365_all, data365_all_celery, defs
from orchestration.distributed import executor_config, split_s3_uri
from orchestration.ops import (
    RETRY,
    load_account_stream,
    plan_sub_sources,
    prepare_loader_tables,
    sync_sub_source,
)
from orchestration.project import ProjectError, read_project
from orchestration.sub_sources import (
    SourcesSettingError,
    account_select,
    checked_names,
    sub_source_select,
)
from orchestration.tables import schema_messages
from tests.helpers.tap import REPO, clean_env

# Its guide, beside it (linked from the README).
GUIDE = (REPO / "orchestration" / "README.md").read_text(encoding="utf-8")


def test_dagster_validates_the_code_location() -> None:
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run(
        [dagster, "definitions", "validate", "-f", "orchestration/definitions.py"],
        cwd=REPO, env=clean_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All code locations passed validation" in proc.stdout + proc.stderr


def test_the_celery_job_is_the_same_graph_on_celery_with_step_outputs_in_s3() -> None:
    assert data365_all_celery is not None
    assert data365_all_celery.graph is data365_all.graph
    assert data365_all_celery.executor_def.name == "celery"
    # One run of the sub-source steps at a time, whichever job: the run queue's limit.
    instance = yaml.safe_load((REPO / "orchestration" / "dagster.yaml").read_text())
    (limit,) = instance["concurrency"]["runs"]["tag_concurrency_limits"]
    assert limit["limit"] == 1
    for job in (data365_all, data365_all_celery):
        assert job.tags[limit["key"]]
    assert "DAGSTER_IO_S3_URI" in str(data365_all_celery.resource_defs["io_manager"].description)
    settings = executor_config()
    assert settings["broker"] == {"env": "DAGSTER_CELERY_BROKER_URL"}
    assert settings["backend"] == {"env": "DAGSTER_CELERY_BACKEND_URL"}
    celery = settings["config_source"]
    assert celery["task_acks_late"] is True
    assert celery["task_reject_on_worker_lost"] is True
    assert celery["broker_transport_options"]["visibility_timeout"] >= 6 * 3600
    assert split_s3_uri("s3://bucket/a/b/") == ("bucket", "a/b")
    assert split_s3_uri("s3://bucket") == ("bucket", "dagster")
    with pytest.raises(ValueError, match="DAGSTER_IO_S3_URI: not an s3://bucket/prefix URI"):
        split_s3_uri("bucket/prefix")


def test_the_code_location_loads_without_the_distributed_extra() -> None:
    # dagster_celery made unimportable, as where only `.[orchestration]` is installed.
    code = (
        "import sys; sys.modules['dagster_celery'] = None\n"
        "from orchestration.definitions import defs\n"
        "print(sorted(job.name for job in defs.jobs))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=clean_env(), capture_output=True,
        text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['data365_all']"


def test_only_celerys_duplicate_task_warning_is_silenced() -> None:
    # What dagster-celery does on every launch: its task registered again on a new app.
    code = (
        "import warnings\n"
        "import orchestration.definitions\n"
        "from dagster_celery.make_app import make_app\n"
        "from dagster_celery.tasks import create_task\n"
        "app = make_app()\n"
        "create_task(app).si()\n"
        "create_task(app).si()\n"
        "warnings.warn('another warning', UserWarning)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "default", "-c", code], cwd=REPO, env=clean_env(),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "DuplicateTaskNameWarning" not in proc.stderr
    assert "UserWarning: another warning" in proc.stderr


def test_meltano_yml_job_and_schedules_become_dagsters() -> None:
    facts = read_project(REPO)
    meltano_yml = yaml.safe_load((REPO / "meltano.yml").read_text())
    (job,) = [j for j in meltano_yml["jobs"] if any(t.startswith("tap-data365 ") for t in
                                                    j["tasks"])]  # fmt: skip
    assert job["tasks"] == ["tap-data365 target-postgres"]
    assert facts.loader == "target-postgres"
    schedules = {s.name: s.cron_schedule for s in defs.schedules or [] if
                 isinstance(s, ScheduleDefinition)}  # fmt: skip
    assert {s["name"].replace("-", "_") for s in meltano_yml["schedules"]} == set(schedules)
    assert schedules["data365_hourly"] == "0 * * * *"
    assert data365_all.name in GUIDE
    ops = {node.name for node in data365_all.graph.nodes}
    assert ops == {"prepare_loader_tables", "plan_sub_sources", "sync_sub_source",
                   "load_account_stream", "report"}  # fmt: skip
    for step in (prepare_loader_tables, plan_sub_sources, sync_sub_source, load_account_stream):
        assert step.retry_policy == RETRY, step.name


def test_a_project_without_a_tap_job_is_refused_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "meltano.yml").write_text("jobs:\n- name: x\n  tasks: [tap-other target-x]\n")
    with pytest.raises(ProjectError, match="no job runs `tap-data365 <loader>`"):
        read_project(tmp_path)
    (tmp_path / "meltano.yml").write_text(
        "jobs:\n- {name: a, tasks: [tap-data365 target-postgres]}\n"
        "schedules:\n- {name: s, interval: '@sometimes', job: a}\n"
    )
    with pytest.raises(ProjectError, match="schedule 's' has interval '@sometimes'"):
        read_project(tmp_path)


@pytest.mark.parametrize(
    ("rules", "sub_source", "account"),
    [
        (["sources.*", "tasks.*", "search_results.*"], ["tasks.*", "search_results.*"],
         ["sources.*"]),
        (["*.*"], ["*.*", "!sources.*"], ["sources.*"]),
        (["search_results.*", "!search_results.extra_fields"],
         ["search_results.*", "!search_results.extra_fields"], []),
        (["*.*", "!sources.*"], ["*.*", "!sources.*"], ["sources.*", "!sources.*"]),
    ],
)  # fmt: skip
def test_select_rules_split_between_sub_sources_and_the_account_stream(
    rules: list[str], sub_source: list[str], account: list[str]
) -> None:
    assert sub_source_select(rules) == sub_source
    assert account_select(rules) == account


def test_sub_source_names_are_checked() -> None:
    assert checked_names(["a_b", "c", "a_b"]) == ("a_b", "c")
    with pytest.raises(SourcesSettingError, match="setting sources: no sub-source"):
        checked_names([])
    with pytest.raises(SourcesSettingError, match=r"not a sub-source name: \.\./x"):
        checked_names(["../x"])


def test_tables_step_sends_a_schema_for_each_selected_stream_only() -> None:
    def stream(name: str, selected: bool) -> dict[str, object]:
        meta = {"selected": selected, "table-key-properties": ["id"]}
        return {"tap_stream_id": name, "schema": {"type": "object"}, "key_properties": ["id"],
                "metadata": [{"breadcrumb": [], "metadata": meta}]}  # fmt: skip

    lines = schema_messages({"streams": [stream("a", True), stream("b", False)]})
    assert [yaml.safe_load(line) for line in lines] == [
        {"type": "SCHEMA", "stream": "a", "schema": {"type": "object"}, "key_properties": ["id"]}
    ]


def test_readme_tells_how_to_install_and_run_it() -> None:
    for text in ("pip install '.[orchestration]'", "dagster dev -f orchestration/definitions.py",
                 "dagster job execute -f orchestration/definitions.py -j data365_all",
                 "MELTANO_STATE_BACKEND_URI=s3://", "MELTANO_DATABASE_URI=postgresql"):  # fmt: skip
        assert text in GUIDE, text


def test_readme_tells_how_to_start_workers_and_their_pitfalls() -> None:
    for text in ("pip install '.[distributed]'", "dagster instance migrate",
                 "dagster-celery worker start -A dagster_celery.app -y orchestration/celery.yaml",
                 "dagster job execute -m orchestration.definitions -j data365_all_celery",
                 "DAGSTER_CELERY_BROKER_URL", "DAGSTER_CELERY_BACKEND_URL", "DAGSTER_IO_S3_URI",
                 "AWS_ENDPOINT_URL", "DAGSTER_PG_URL=postgresql+psycopg2://",
                 "The same code at the same path", "'tap-data365' could not be found",
                 "MELTANO_DATABASE_URI", "task_acks_late", "visibility_timeout",
                 "DuplicateTaskNameWarning"):  # fmt: skip
        assert text in GUIDE, text
