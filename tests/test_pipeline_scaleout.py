"""Scale-out: two Meltano jobs over disjoint sources, run at the same time, separate state.

meltano.yml declares `tap-data365--twitter` and `tap-data365--rest` (inherit_from
tap-data365, each with its own `sources`). An orchestrator runs them in parallel; each gets its
own state id `<environment>:<extractor>-to-<loader>`. Here both run at once against one
emulator, twice, each into its own DuckDB file (DuckDB allows one writer per file).
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import MeltanoProject, clean_env
from test_pipeline_support import (
    REST,
    TWITTER,
    add_finished_task,
    as_text,
    duckdb_keys,
    get_state,
    pipeline_emulator,
    read_capture,
    run_args,
    run_env,
    state_id,
    state_sources,
    total_posts,
)

from tap_data365.emulator import Emulator

pytestmark = pytest.mark.pipeline

JOBS = {"tap-data365--twitter": TWITTER, "tap-data365--rest": REST}


def _run_jobs_at_once(
    project: MeltanoProject, emu: Emulator, tmp_path: Path, suffix: str, label: str
) -> dict[str, set[tuple[str, ...]]]:
    """Start both jobs, then wait for both; returns each job's emitted search_results keys."""
    procs = {}
    for job in JOBS:
        env = {"TARGET_DUCKDB_FILEPATH": str(tmp_path / f"{job}.duckdb")}
        procs[job] = subprocess.Popen(
            project.command(*run_args(job, "target-duckdb", suffix)),
            cwd=project.root,
            env=clean_env(run_env(emu, tmp_path / f"{job}-{label}.singer", env)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    failures = []
    for job, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            failures.append(f"{job} exited {proc.returncode}:\n{out[-2000:]}\n{err[-6000:]}")
    assert not failures, "\n\n".join(failures)
    return {
        job: as_text(read_capture(tmp_path / f"{job}-{label}.singer").keys("search_results"))
        for job in JOBS
    }


def test_two_jobs_run_in_parallel_with_separate_state(
    meltano_project: MeltanoProject, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:12]
    with pipeline_emulator() as emu:
        first = _run_jobs_at_once(meltano_project, emu, tmp_path, suffix, "1")
        landed = {
            job: duckdb_keys(meltano_project, tmp_path / f"{job}.duckdb") for job in JOBS
        }
        for job, sources in JOBS.items():
            posts = landed[job]["search_results"]
            assert {source for source, _ in posts} == {
                f"data365_{s}" for s in sources if emu.post_count(s)
            }, job
            assert len(posts) == len(set(posts)) == total_posts(emu, sources), job
            assert set(posts) == set(first[job]), job
            state = get_state(meltano_project, state_id(job, "target-duckdb", suffix))
            named = state_sources(state)
            assert named["search_results"] == set(sources), (job, named)
            assert named.get("tasks", set()) <= set(sources), (job, named)

        listed = meltano_project.run("--environment=emulator", "state", "list").stdout
        for job in JOBS:
            assert state_id(job, "target-duckdb", suffix) in listed

        # Second round: new posts for each job's sources; each job loads only its own.
        added = {
            "tap-data365--twitter": add_finished_task(
                emu, "twitter_keywords", "scale-out", "2024-04-01", "2024-04-30"
            ),
            "tap-data365--rest": add_finished_task(
                emu, "instagram_profile", "scale-out", "2024-09-01", "2024-09-30"
            ),
        }
        second = _run_jobs_at_once(meltano_project, emu, tmp_path, suffix, "2")
        for job in JOBS:
            after = duckdb_keys(meltano_project, tmp_path / f"{job}.duckdb")["search_results"]
            assert len(after) == len(set(after)), job
            assert len(after) - len(landed[job]["search_results"]) == added[job], job
            assert set(after) == set(first[job]) | set(second[job]), job
