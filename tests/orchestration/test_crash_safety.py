"""Crash safety and failure inside `data365_all`, with state in the PostgreSQL system database.

A tap SIGKILLed mid-run inside a Dagster run: the retry policy runs the sub-source step again, from
the state the killed attempt left, and every post is in PostgreSQL exactly once; a second
worker sharing the system database then loads only what is new. A bad setting fails the
run at once (no retry), naming the setting.

The kill is placed without a clock: the tap's output goes through the capture wrapper
(conftest) into a FIFO this test reads, so the tap cannot run ahead of the reader by more
than the pipe buffers; after 300 records the test kills it with SIGKILL.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.helpers.orchestration import (
    TapKiller,
    execute,
    loaded_per_step,
    output_of,
    second_worker,
    with_code_location,
)
from tests.helpers.pipeline import (
    MeltanoProject,
    add_finished_task,
    pipeline_emulator,
)

pytestmark = pytest.mark.pipeline

SOURCE = "twitter_keywords"


def _system_database(pg_url: str) -> str:
    """A new PostgreSQL database for Meltano's system database; its SQLAlchemy URL."""
    name = f"meltano_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    base = pg_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def _env(url: str, schema: str, **more: str) -> dict[str, str]:
    return {
        "MELTANO_ENVIRONMENT": "emulator",
        "DATA365_EMULATOR_URL": url,
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
        "TAP_DATA365_SOURCES": json.dumps([SOURCE]),
        "TAP_DATA365__SELECT": json.dumps(["tasks.*", "search_results.*"]),
        **more,
    }


def test_a_killed_tap_loses_and_duplicates_nothing(
    meltano_project: MeltanoProject, pg_url: str, tmp_path: Path
) -> None:
    project = with_code_location(meltano_project)
    schema = f"kill_{uuid.uuid4().hex[:10]}"
    system_db = _system_database(pg_url)
    fifo = tmp_path / "tap.fifo"
    os.mkfifo(fifo)
    killer = TapKiller(fifo, attempts=2, kill_after=300)
    killer.start()
    with pipeline_emulator(latency_ms=100) as emu:
        env = _env(emu.url, schema, MELTANO_DATABASE_URI=system_db, DATA365_CAPTURE=str(fifo))
        run = execute(project, tmp_path / "home-1", env)
        out = output_of(run)
        assert run.returncode == 0, out[-8000:]
        killer.join_attempts()
        assert len(killer.killed) == 1
        assert len(killer.records[0]) < emu.post_count(SOURCE)  # killed mid-run
        assert f"sync_sub_source[{SOURCE}] - STEP_UP_FOR_RETRY" in out
        landed = _posts(pg_url, schema)
        assert len(landed) == len(set(landed)) == emu.post_count(SOURCE)

        # A second worker on the same system database resumes: only the new posts.
        added = add_finished_task(emu, SOURCE, "after-kill", "2024-05-01", "2024-05-31")
        worker = second_worker(project, tmp_path / "worker-2")
        again = execute(
            worker, tmp_path / "home-2", _env(emu.url, schema, MELTANO_DATABASE_URI=system_db)
        )
        assert again.returncode == 0, output_of(again)[-8000:]
        assert loaded_per_step(output_of(again))[SOURCE]["search_results"] == added
        landed = _posts(pg_url, schema)
        assert len(landed) == len(set(landed)) == emu.post_count(SOURCE)


def _posts(pg_url: str, schema: str) -> list[tuple[str, str]]:
    """The key of every row of search_results (`sources` is not selected in these runs)."""
    with psycopg.connect(pg_url) as con:
        query = sql.SQL("SELECT data_source, id FROM {}.search_results").format(
            sql.Identifier(schema)
        )
        return [(str(a), str(b)) for a, b in con.execute(query).fetchall()]


def test_a_bad_setting_fails_the_run_without_retries(
    meltano_project: MeltanoProject, tmp_path: Path
) -> None:
    project = with_code_location(meltano_project)
    with pipeline_emulator() as emu:
        env = _env(emu.url, "unused", TAP_DATA365_SOURCES=json.dumps(["myspace_wall"]))
        run = execute(project, tmp_path / "home", env)
    out = output_of(run)
    assert run.returncode != 0
    assert "setting sources names unknown Data365 sub-source(s): myspace_wall" in out
    assert "STEP_UP_FOR_RETRY" not in out
    assert "RUN_FAILURE" in out
