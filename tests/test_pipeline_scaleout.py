"""Scale-out: two Meltano jobs over disjoint sources, run in parallel, separate state.

meltano.yml declares the jobs `data365-twitter` and `data365-rest`: extractors
`tap-data365--twitter` and `tap-data365--rest` (inherit_from tap-data365, each with its own
`sources`) into target-postgres. An orchestrator runs them in parallel; each gets its own
state id `<environment>:<extractor>-to-<loader>`. Here both run against one emulator, into
the same PostgreSQL tables: one after the other the first time (that run creates the
tables), then at the same time with new posts for both.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from pipeline_harness import (
    REST,
    TWITTER,
    Emitted,
    MeltanoProject,
    add_finished_task,
    as_text,
    get_state,
    pipeline_emulator,
    postgres_keys,
    read_capture,
    run_env,
    state_id,
    state_sources,
    total_posts,
)
from tap_harness import clean_env

from data365_emulator import Emulator

pytestmark = pytest.mark.pipeline

#: job name -> (extractor, its sources)
JOBS = {
    "data365-twitter": ("tap-data365--twitter", TWITTER),
    "data365-rest": ("tap-data365--rest", REST),
}

JOB_ARGS = ("--environment=emulator", "run", "--no-install")


def _run_jobs(
    project: MeltanoProject,
    emu: Emulator,
    tmp_path: Path,
    suffix: str,
    schema: str,
    label: str,
    *,
    at_once: bool,
) -> dict[str, Emitted]:
    """Run both jobs (started together when ``at_once``, else one after the other); returns
    what each job's tap emitted."""
    procs: dict[str, subprocess.Popen[bytes]] = {}
    env = {"TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema}
    logs = {job: tmp_path / f"{job}-{label}.log" for job in JOBS}
    failures = []

    def wait(job: str) -> None:
        if procs[job].wait(timeout=600) != 0:
            failures.append(
                f"{job} exited {procs[job].returncode}:\n{logs[job].read_text()[-6000:]}"
            )

    for job in JOBS:
        with logs[job].open("w") as log:  # a file, not a pipe: neither job waits on a reader
            procs[job] = subprocess.Popen(
                project.command(*JOB_ARGS, f"--state-id-suffix={suffix}", job),
                cwd=project.root,
                env=clean_env(run_env(emu, tmp_path / f"{job}-{label}.singer", env)),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if not at_once:
            wait(job)
    if at_once:
        for job in JOBS:
            wait(job)
    assert not failures, "\n\n".join(failures)
    return {job: read_capture(tmp_path / f"{job}-{label}.singer") for job in JOBS}


def test_two_jobs_run_in_parallel_with_separate_state(
    meltano_project: MeltanoProject, pg_url: str, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:12]
    schema = f"scaleout_{suffix}"
    with pipeline_emulator() as emu:
        # The first run creates the schema and tables: target-postgres's CREATE SCHEMA /
        # CREATE TABLE race when two loaders create the same ones at the same moment (seen
        # as "schema … already exists"), so the jobs go one after the other once (README).
        first = _run_jobs(meltano_project, emu, tmp_path, suffix, schema, "1", at_once=False)
        landed = postgres_keys(pg_url, schema)
        _assert_no_duplicates(landed)
        assert sorted(landed["search_results"]) == sorted(
            as_text(first["data365-twitter"].keys("search_results"))
            + as_text(first["data365-rest"].keys("search_results"))
        )
        assert len(landed["search_results"]) == total_posts(emu, TWITTER + REST) > 0
        # `sources` is one list for the whole account: the twitter job alone loads it.
        assert len(landed["sources"]) == first["data365-twitter"].count("sources") > 0
        assert first["data365-rest"].count("sources") == 0
        for job, (extractor, sources) in JOBS.items():
            emitted = first[job].keys("search_results")
            assert {source for source, _ in emitted} == {
                f"data365_{s}" for s in sources if emu.post_count(s)
            }, job
            assert len(emitted) == total_posts(emu, sources), job
            assert {source for source, _ in first[job].keys("tasks")} <= set(sources), job
            state = get_state(meltano_project, state_id(extractor, "target-postgres", suffix))
            named = state_sources(state)
            assert named["search_results"] == set(sources), (job, named)
            assert named.get("tasks", set()) <= set(sources), (job, named)

        listed = meltano_project.run("--environment=emulator", "state", "list").stdout
        for extractor, _ in JOBS.values():
            assert state_id(extractor, "target-postgres", suffix) in listed

        # Second round: new posts for each job's sources; each job loads only its own.
        added = {
            "data365-twitter": add_finished_task(
                emu, "twitter_keywords", "scale-out", "2024-04-01", "2024-04-30"
            ),
            "data365-rest": add_finished_task(
                emu, "instagram_profile", "scale-out", "2024-09-01", "2024-09-30"
            ),
        }
        second = _run_jobs(meltano_project, emu, tmp_path, suffix, schema, "2", at_once=True)
        after = postgres_keys(pg_url, schema)
        _assert_no_duplicates(after)
        assert len(after["search_results"]) - len(landed["search_results"]) == sum(added.values())
        for job in JOBS:
            new = second[job].keys("search_results") - first[job].keys("search_results")
            assert len(new) == added[job], job
            assert set(as_text(new)) <= set(after["search_results"]), job


def _assert_no_duplicates(landed: dict[str, list[tuple[str, ...]]]) -> None:
    for table, rows in landed.items():
        assert len(rows) == len(set(rows)), f"{table}: duplicate keys"
