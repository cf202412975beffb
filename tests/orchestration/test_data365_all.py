"""Scale-out on Dagster: `data365_all` runs one step per sub-source at once, each with its
own state in an S3 state backend, and a second worker resumes from that state.

The run is `dagster job execute -f orchestration/definitions.py -j data365_all` in a copy of
the Meltano project, against the emulator (5 connected sub-sources, 100 ms per request), into
PostgreSQL. Concurrency is proven by a gate in front of the emulator, not by a clock: each
sub-source's first search waits there until 4 sub-sources are waiting, so the run can only
finish if 4 sub-source steps were inside a request at the same moment.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.helpers.orchestration import (
    Gate,
    execute,
    loaded_per_step,
    output_of,
    s3_state_store,
    s3_states,
    second_worker,
    with_code_location,
)
from tests.helpers.pipeline import (
    MeltanoProject,
    add_finished_task,
    pipeline_emulator,
    postgres_keys,
    state_sources,
)

pytestmark = pytest.mark.pipeline

FIVE = ("twitter_keywords", "tiktok_hashtag", "instagram_profile", "facebook_profile",
        "linkedin_company")  # fmt: skip
POSTS = {"twitter_keywords": 400, "tiktok_hashtag": 300, "instagram_profile": 200,
         "facebook_profile": 150, "linkedin_company": 100}  # fmt: skip
STATE_ID = "emulator:tap-data365-to-target-postgres:{}"


def _env(url: str, schema: str, state: dict[str, str]) -> dict[str, str]:
    return {
        "MELTANO_ENVIRONMENT": "emulator",
        "DATA365_EMULATOR_URL": url,
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
        **state,
    }


def _assert_once(pg_url: str, schema: str, expected: int) -> dict[str, list[tuple[str, ...]]]:
    landed = postgres_keys(pg_url, schema)
    for table, rows in landed.items():
        assert len(rows) == len(set(rows)), f"{table}: duplicate keys"
    assert len(landed["search_results"]) == expected
    return landed


def test_sub_source_steps_run_at_once_with_state_in_s3_and_a_second_worker_resumes(
    meltano_project: MeltanoProject, pg_url: str, tmp_path: Path
) -> None:
    project = with_code_location(meltano_project)
    schema = f"dagster_{uuid.uuid4().hex[:10]}"
    emulator = pipeline_emulator(connected_sources=FIVE, seed_posts=POSTS, latency_ms=100)
    with emulator as emu, s3_state_store() as (s3_env, store), Gate(emu.url, quorum=4) as gate:
        first = execute(project, tmp_path / "home-1", _env(gate.url, schema, s3_env))
        assert first.returncode == 0, output_of(first)[-8000:]
        assert not gate.timed_out
        assert gate.most_at_once >= 4
        assert gate.arrived == set(FIVE)
        _assert_once(pg_url, schema, sum(POSTS.values()))

        # One state per sub-source step in S3 (plus the account-wide step's), each naming only
        # its own sub-source; `sources` loaded by its own step alone.
        states = s3_states(store)
        assert set(states) == {STATE_ID.format(s) for s in (*FIVE, "sources")}
        for source in FIVE:
            named = state_sources(states[STATE_ID.format(source)]["completed"])
            assert named["search_results"] == {source}, (source, named)
        loaded = loaded_per_step(output_of(first))
        assert loaded["sources"] == {"sources": len(FIVE)}
        for source in FIVE:
            assert loaded[source]["search_results"] == POSTS[source]
            assert "sources" not in loaded[source]
        searched = {r.body["query"]["data_sources"][0] for r in emu.requests if r.body and
                    "query" in r.body}  # fmt: skip
        assert searched == {f"data365_{s}" for s in FIVE}

        # Another copy of the project (own system database, nothing in it) on the same S3
        # state: it loads exactly the posts that are new since the first worker's run.
        added = {
            "twitter_keywords": add_finished_task(
                emu, "twitter_keywords", "dagster", "2024-04-01", "2024-04-30"
            ),
            "facebook_profile": add_finished_task(
                emu, "facebook_profile", "dagster", "2024-09-01", "2024-09-30"
            ),
        }
        worker = second_worker(project, tmp_path / "worker-2")
        second = execute(worker, tmp_path / "home-2", _env(emu.url, schema, s3_env))
        assert second.returncode == 0, output_of(second)[-8000:]
        _assert_once(pg_url, schema, sum(POSTS.values()) + sum(added.values()))
        again = loaded_per_step(output_of(second))
        for source in FIVE:
            assert again[source].get("search_results", 0) == added.get(source, 0), source
        assert not (project.root / ".meltano" / "meltano.db").samefile(
            worker.root / ".meltano" / "meltano.db"
        )
