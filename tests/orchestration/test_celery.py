"""`data365_all_celery` on two Celery workers, each in its own copy of the project, launched
from a third copy, as on three hosts: Redis the broker, PostgreSQL the Dagster instance, the
Meltano system database and the warehouse, moto the S3 store of state and step outputs.

Both workers run sub-source steps, proven without a clock: each worker takes one step at a
time (`-c 1`), and a gate in front of the emulator holds each sub-source's first search until
two sub-sources are waiting, so the run can finish only if two sub-source steps were in a
request at once, i.e. on both workers.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.helpers.celery import Launcher, project_copies, run_messages, shared_env, workers
from tests.helpers.orchestration import (
    Gate,
    loaded_per_step,
    output_of,
    ran_in,
    s3_state_store,
    s3_states,
)
from tests.helpers.pipeline import MeltanoProject, pipeline_emulator, postgres_keys, state_sources

pytestmark = [pytest.mark.pipeline, pytest.mark.celery]

THREE = ("twitter_keywords", "tiktok_hashtag", "instagram_profile")
POSTS = {"twitter_keywords": 300, "tiktok_hashtag": 200, "instagram_profile": 100}
STATE_ID = "emulator:tap-data365-to-target-postgres:{}"


def test_two_workers_in_their_own_copies_run_the_steps_and_every_post_lands_once(
    meltano_project: MeltanoProject, pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    first, *copies = project_copies(
        meltano_project, tmp_path / "hosts", ["launcher", "worker-1", "worker-2"]
    )
    schema = f"celery_{uuid.uuid4().hex[:10]}"
    emulator = pipeline_emulator(connected_sources=THREE, seed_posts=POSTS, latency_ms=50)
    with emulator as emu, s3_state_store() as (s3_env, store), Gate(emu.url, quorum=2) as gate:
        env = {
            **shared_env(pg_url, redis_url, s3_env, store[1]),
            "MELTANO_ENVIRONMENT": "emulator",
            "DATA365_EMULATOR_URL": gate.url,
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
        }
        launcher = Launcher(first, env)
        with workers(copies, launcher, env):
            run = launcher.launch()
        assert run.returncode == 0, output_of(run)[-8000:]
        assert not gate.timed_out
        assert gate.most_at_once >= 2

        messages = run_messages(env["DAGSTER_PG_URL"])
        where = ran_in(messages)
        assert set(where) == {*THREE, "sources"}
        assert {p.name for p in where.values()} == {"worker-1", "worker-2"}
        loaded = loaded_per_step(messages)
        for source in THREE:
            assert loaded[source]["search_results"] == POSTS[source]

        landed = postgres_keys(pg_url, schema)
        for table, rows in landed.items():
            assert len(rows) == len(set(rows)), f"{table}: duplicate keys"
        assert len(landed["search_results"]) == sum(POSTS.values())
        states = s3_states(store)
        assert set(states) == {STATE_ID.format(s) for s in (*THREE, "sources")}
        for source in THREE:
            named = state_sources(states[STATE_ID.format(source)]["completed"])
            assert named["search_results"] == {source}, (source, named)
        # What the steps printed (Meltano's log), in S3 for the UI whichever worker ran them.
        client, bucket = store
        logs = client.list_objects_v2(Bucket=bucket, Prefix="dagster-compute-logs/")
        assert logs.get("KeyCount", 0) > 0
