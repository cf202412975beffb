"""Crash safety of `data365_all_celery` across hosts: two workers in their own copies, a
launcher in a third (tests/helpers/celery.py), one sub-source, state in S3, one Meltano
system database in PostgreSQL for all (its "already running" guard).

- A tap SIGKILLed under a worker: the step fails, Dagster's retry policy sends it to the
  workers again, the retry resumes from the state the killed attempt left; every post once.
- A worker's pool process SIGKILLed mid-step (what a host lost looks like to Celery): the
  step's message, acknowledged late, is delivered again; the new delivery waits until the
  lost attempt's `meltano run` (still going, and holding Meltano's guard) has finished,
  then syncs; the run succeeds with every post once.

Both kills are placed by progress, not by a clock: the tap's output goes through the capture
wrapper (conftest) into a FIFO this test reads, and the kill comes after 300 records.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import signal
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.helpers.celery import (
    Launcher,
    Worker,
    pool_process_of,
    project_copies,
    run_events,
    shared_env,
    wait_for_line,
    workers,
)
from tests.helpers.orchestration import TapKiller, output_of, s3_state_store, s3_states
from tests.helpers.pipeline import MeltanoProject, pipeline_emulator

pytestmark = [pytest.mark.pipeline, pytest.mark.celery]

SOURCE = "twitter_keywords"
STEP = f"sync_sub_source[{SOURCE}]"
KILL_AFTER = 300
#: What a step logs while another run of its state id holds Meltano's guard (runner.py).
WAITING = f"{SOURCE}: another run of this state id is going"


@dataclasses.dataclass
class KilledRun:
    killer: TapKiller
    events: list[tuple[str, str, str]]  # (step key, event type, message)
    posts: int  # in the emulator
    landed: list[tuple[str, str]]  # the key of every search_results row


def _run_with_a_kill(
    project: MeltanoProject,
    pg_url: str,
    redis_url: str,
    tmp_path: Path,
    kill: Callable[[list[Worker], list[int]], list[int]] | None = None,
) -> KilledRun:
    """`data365_all_celery` over SOURCE on two workers, the tap's output read by a TapKiller
    that kills after KILL_AFTER records (its taps, or ``kill`` with the workers)."""
    fifo = tmp_path / "tap.fifo"
    os.mkfifo(fifo)
    killer = TapKiller(fifo, attempts=2, kill_after=KILL_AFTER)
    first, *copies = project_copies(project, tmp_path / "hosts", ["launcher", "w1", "w2"])
    schema = f"celery_kill_{uuid.uuid4().hex[:10]}"
    with pipeline_emulator(latency_ms=100) as emu, s3_state_store() as (s3_env, store):
        env = {
            **shared_env(pg_url, redis_url, s3_env, store[1]),
            "MELTANO_ENVIRONMENT": "emulator",
            "DATA365_EMULATOR_URL": emu.url,
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
            "TAP_DATA365_SOURCES": json.dumps([SOURCE]),
            "TAP_DATA365__SELECT": json.dumps(["tasks.*", "search_results.*"]),
            "DATA365_CAPTURE": str(fifo),
        }
        launcher = Launcher(first, env)
        with workers(copies, launcher, env) as started:
            if kill:
                killer.kill = functools.partial(kill, started)
            killer.start()
            run = launcher.launch()
            assert run.returncode == 0, output_of(run)[-8000:]
            killer.join_attempts()
        assert set(s3_states(store)) == {f"emulator:tap-data365-to-target-postgres:{SOURCE}"}
        posts = emu.post_count(SOURCE)
    with psycopg.connect(pg_url) as con:
        query = sql.SQL("SELECT data_source, id FROM {}.search_results")
        rows = con.execute(query.format(sql.Identifier(schema))).fetchall()
    landed = [(str(a), str(b)) for a, b in rows]
    return KilledRun(killer, run_events(env["DAGSTER_PG_URL"]), posts, landed)


def test_a_tap_killed_under_a_worker_is_retried_and_every_post_lands_once(
    meltano_project: MeltanoProject, pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    run = _run_with_a_kill(meltano_project, pg_url, redis_url, tmp_path)
    assert len(run.killer.killed) == 1
    assert len(run.killer.records[0]) < run.posts  # killed mid-sync
    assert (STEP, "STEP_UP_FOR_RETRY") in {(step, kind) for step, kind, _ in run.events}
    assert len(run.landed) == len(set(run.landed)) == run.posts


def _lose_pool_process(started: list[Worker], taps: list[int]) -> list[int]:
    """SIGKILL the pool process running the tap's step; then hold the lost attempt's tap
    (this thread stops reading its output) until the step, delivered again, has found that
    attempt's `meltano run` still holding Meltano's guard and waits for it."""
    pools = sorted({pool_process_of(pid) for pid in taps})
    for pid in pools:
        os.kill(pid, signal.SIGKILL)
    assert wait_for_line(started, WAITING), "the step delivered again did not wait"
    return pools


def test_a_lost_pool_process_gets_its_step_delivered_again_and_the_run_succeeds(
    meltano_project: MeltanoProject, pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    # The lost attempt's `meltano run` outlives the pool process and goes on to the end; the
    # delivery after it waits for it, then syncs from the state that run saved.
    run = _run_with_a_kill(meltano_project, pg_url, redis_url, tmp_path, kill=_lose_pool_process)
    assert len(run.killer.killed) == 1
    # Two deliveries of the step's Celery task (a worker's engine event each), one
    # Dagster attempt: no retry was spent on the lost worker.
    kinds = [kind for step, kind, _ in run.events if step == STEP]
    assert kinds.count("ENGINE_EVENT") == 3, kinds  # submitted once, executed twice
    assert "STEP_UP_FOR_RETRY" not in kinds
    assert any(message.startswith(WAITING) for _, _, message in run.events)
    assert len(run.landed) == len(set(run.landed)) == run.posts
