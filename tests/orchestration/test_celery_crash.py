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

from data365_emulator import Emulator
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


def _run_with_a_kill(
    project: MeltanoProject,
    pg_url: str,
    tmp_path: Path,
    killer: TapKiller,
    emu: Emulator,
    kill: Callable[[list[Worker], list[int]], list[int]] | None = None,
) -> tuple[list[tuple[str, str, str]], str]:
    """`data365_all_celery` over SOURCE on two workers while ``killer`` reads the tap's output
    (and calls ``kill`` with the workers, when given); the run's events and the warehouse
    schema."""
    first, *copies = project_copies(project, tmp_path / "hosts", ["launcher", "w1", "w2"])
    schema = f"celery_kill_{uuid.uuid4().hex[:10]}"
    with s3_state_store() as (s3_env, store):
        env = {
            **shared_env(pg_url, s3_env, store[1]),
            "MELTANO_ENVIRONMENT": "emulator",
            "DATA365_EMULATOR_URL": emu.url,
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
            "TAP_DATA365_SOURCES": json.dumps([SOURCE]),
            "TAP_DATA365__SELECT": json.dumps(["tasks.*", "search_results.*"]),
            "DATA365_CAPTURE": str(killer.fifo),
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
        return run_events(env["DAGSTER_PG_URL"]), schema


def _assert_every_post_once(pg_url: str, schema: str, emu: Emulator) -> None:
    with psycopg.connect(pg_url) as con:
        query = sql.SQL("SELECT data_source, id FROM {}.search_results")
        rows = con.execute(query.format(sql.Identifier(schema))).fetchall()
    assert len(rows) == len(set(rows)) == emu.post_count(SOURCE)


def test_a_tap_killed_under_a_worker_is_retried_and_every_post_lands_once(
    meltano_project: MeltanoProject, pg_url: str, tmp_path: Path
) -> None:
    fifo = tmp_path / "tap.fifo"
    os.mkfifo(fifo)
    killer = TapKiller(fifo, attempts=2, kill_after=KILL_AFTER)
    with pipeline_emulator(latency_ms=100) as emu:
        events, schema = _run_with_a_kill(meltano_project, pg_url, tmp_path, killer, emu)
        assert len(killer.killed) == 1
        assert len(killer.records[0]) < emu.post_count(SOURCE)  # killed mid-sync
        assert (
            STEP,
            "STEP_UP_FOR_RETRY",
        ) in {(s, k) for s, k, _ in events}
        _assert_every_post_once(pg_url, schema, emu)


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
    meltano_project: MeltanoProject, pg_url: str, tmp_path: Path
) -> None:
    fifo = tmp_path / "tap.fifo"
    os.mkfifo(fifo)
    # The lost attempt's `meltano run` outlives the pool process and goes on to the end; the
    # delivery after it waits for it, then syncs from the state that run saved.
    killer = TapKiller(fifo, attempts=2, kill_after=KILL_AFTER)
    with pipeline_emulator(latency_ms=100) as emu:
        events, schema = _run_with_a_kill(
            meltano_project, pg_url, tmp_path, killer, emu, kill=_lose_pool_process
        )
        assert len(killer.killed) == 1
        # Two deliveries of the step's Celery task (a worker's engine event each), one
        # Dagster attempt: no retry was spent on the lost worker.
        kinds = [kind for step, kind, _ in events if step == STEP]
        assert kinds.count("ENGINE_EVENT") == 3, kinds  # submitted once, executed twice
        assert "STEP_UP_FOR_RETRY" not in kinds
        _assert_every_post_once(pg_url, schema, emu)
