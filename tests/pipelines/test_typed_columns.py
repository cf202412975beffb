"""Typed columns in real warehouses: `meltano run` into target-postgres and target-duckdb,
with flattening off (one JSON column per block) and on (`flattening_max_depth` 1: a column per
declared field, `<block>__extra_fields` JSON text for the rest).

The emulator sends every 7th post in an odd shape (counts as text, other date spellings, lists
as one string, unreadable values, undeclared fields): no record may fail the target's
validation or be lost. Each test checks the column types, that row counts equal the records
the tap emitted, and that a declared nested field answers a query the same as Python does
over the emitted records.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from data365_emulator import Emulator
from tests.helpers.pipeline import STREAMS, Emitted, MeltanoProject, meltano_run, pipeline_emulator
from tests.helpers.warehouses import duckdb_columns, duckdb_query, postgres_columns, postgres_query

pytestmark = pytest.mark.pipeline

FLAT = {"TAP_DATA365_FLATTENING_ENABLED": "true", "TAP_DATA365_FLATTENING_MAX_DEPTH": "1"}
#: Posts with many retweets since March, the question each warehouse answers.
SINCE = "2024-03-01"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with pipeline_emulator(odd_values=True) as emulator:
        emulator.add_task("tiktok_hashtag", "cats", "2024-02-01", "2024-02-03", status="complete")
        emulator.add_task("twitter_keywords", "dogs", "2024-04-01", "2024-04-30", status="running")
        yield emulator


Loaded = tuple[Emitted, Callable[..., list[list[list[Any]]]], Callable[[str], dict[str, str]]]


def _load(
    loader: str,
    flat: bool,
    project: MeltanoProject,
    emu: Emulator,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Loaded:
    env = dict(FLAT) if flat else {}
    if loader == "target-duckdb":
        database = tmp_path / "warehouse.duckdb"
        env |= {"TARGET_DUCKDB_FILEPATH": str(database), "TARGET_DUCKDB_BATCH_SIZE_ROWS": "500"}

        def query(*sql: str) -> list[list[list[Any]]]:
            return duckdb_query(project, database, *sql)

        def columns(table: str) -> dict[str, str]:
            return duckdb_columns(project, database, table)
    else:
        url = request.getfixturevalue("pg_url")
        schema = f"data365_{uuid.uuid4().hex[:8]}"
        env |= {"TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema}

        def query(*sql: str) -> list[list[list[Any]]]:
            return postgres_query(url, schema, *sql)

        def columns(table: str) -> dict[str, str]:
            return postgres_columns(url, schema, table)

    emitted = meltano_run(
        project, emu, loader, suffix=uuid.uuid4().hex[:12], capture=tmp_path / "run.singer", env=env
    )
    return emitted, query, columns


def _counts_match(emitted: Emitted, query: Callable[..., list[list[list[Any]]]]) -> None:
    counts = query(*(f"SELECT count(*) FROM {stream}" for stream in STREAMS))
    for stream, rows in zip(STREAMS, counts, strict=True):
        assert rows[0][0] == emitted.count(stream) == len(emitted.keys(stream)) > 0, stream


#: (loader, flattened) → search_results and tasks columns → the warehouse's type.
COLUMNS: dict[tuple[str, bool], tuple[dict[str, str], dict[str, str]]] = {
    ("target-duckdb", False): (
        {"doc_date": "TIMESTAMP", "id": "VARCHAR", "content": "JSON", "author": "JSON",
         "twitter": "JSON", "extra_fields": "JSON"},
        # target-duckdb 0.8.0 maps no `date` format: dates stay text (YYYY-MM-DD).
        {"from_date": "VARCHAR", "to_date": "VARCHAR", "update_interval": "BIGINT",
         "created_at": "TIMESTAMP", "updated_at": "TIMESTAMP", "parameters": "JSON"},
    ),
    ("target-duckdb", True): (
        {"doc_date": "TIMESTAMP", "content__body": "VARCHAR", "content__published": "TIMESTAMP",
         "content__found": "TIMESTAMP", "content__likes_count": "BIGINT",
         "author__handle": "VARCHAR", "twitter__retweet_count": "BIGINT",
         "tiktok__play_count": "BIGINT", "instagram__is_video": "BOOLEAN",
         # lists and remainders: JSON text (the SDK flattens them to strings)
         "content__hashtags": "VARCHAR", "content__extra_fields": "VARCHAR"},
        {"from_date": "VARCHAR", "update_interval": "BIGINT", "created_at": "TIMESTAMP"},
    ),
    ("target-postgres", False): (
        {"doc_date": "timestamp without time zone", "id": "text", "content": "jsonb",
         "author": "jsonb", "twitter": "jsonb", "extra_fields": "jsonb"},
        {"from_date": "date", "to_date": "date", "update_interval": "bigint",
         "created_at": "timestamp without time zone", "parameters": "jsonb"},
    ),
    ("target-postgres", True): (
        {"doc_date": "timestamp without time zone", "content__body": "text",
         "content__published": "timestamp without time zone",
         "content__found": "timestamp without time zone", "content__likes_count": "bigint",
         "author__handle": "text", "twitter__retweet_count": "bigint",
         "tiktok__play_count": "bigint", "instagram__is_video": "boolean",
         "content__hashtags": "text", "content__extra_fields": "text"},
        {"from_date": "date", "update_interval": "bigint",
         "created_at": "timestamp without time zone"},
    ),
}  # fmt: skip

#: The question: tweets with 100+ retweets published since SINCE, then undeclared content
#: fields and an unreadable count kept as sent (JSON text or JSON, per mode).
COUNT = "SELECT count(*) FROM search_results WHERE "
QUERIES = {
    ("target-duckdb", False): (
        COUNT + "CAST(twitter->>'$.retweet_count' AS BIGINT)"
        f" >= 100 AND CAST(content->>'$.published' AS TIMESTAMP) >= TIMESTAMP '{SINCE}'",
        COUNT + "content->>'$.extra_fields.view_count_v2' = '17'",
        COUNT + "content->>'$.extra_fields.likes_count' = '1.2K'",
    ),
    ("target-postgres", False): (
        COUNT + "(twitter->>'retweet_count')::bigint >= 100"
        f" AND (content->>'published')::timestamp >= '{SINCE}'",
        COUNT + "content->'extra_fields'->>'view_count_v2' = '17'",
        COUNT + "content->'extra_fields'->>'likes_count' = '1.2K'",
    ),
}
FLAT_QUERIES = (
    # No JSON path, no cast: the nested fields are columns of their own type.
    COUNT + f"twitter__retweet_count >= 100 AND content__published >= '{SINCE}'",
    COUNT + "content__extra_fields LIKE '%\"view_count_v2\":17%'",
    COUNT + 'content__extra_fields LIKE \'%"likes_count":"1.2K"%\'',
)


def _expected(run: Emitted, flat: bool) -> list[int]:
    """What the queries must answer, computed over the records the tap emitted."""
    posts = run.records["search_results"]
    if flat:
        rows = [
            (r.get("twitter__retweet_count"), r["content__published"],
             json.loads(r.get("content__extra_fields") or "{}"))
            for r in posts
        ]  # fmt: skip
    else:
        rows = [
            ((r.get("twitter") or {}).get("retweet_count"), r["content"]["published"],
             r["content"].get("extra_fields") or {})
            for r in posts
        ]  # fmt: skip
    return [
        sum(1 for count, published, _ in rows if count is not None and count >= 100
            and published >= SINCE),
        sum(1 for *_, extra in rows if extra.get("view_count_v2") == 17),
        sum(1 for *_, extra in rows if extra.get("likes_count") == "1.2K"),
    ]  # fmt: skip


@pytest.mark.parametrize("loader", ["target-duckdb", "target-postgres"])
@pytest.mark.parametrize("flat", [False, True], ids=["nested", "flattened"])
def test_columns_are_typed_and_every_record_lands(
    loader: str,
    flat: bool,
    meltano_project: MeltanoProject,
    emu: Emulator,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    emitted, query, columns = _load(loader, flat, meltano_project, emu, tmp_path, request)
    want_posts, want_tasks = COLUMNS[(loader, flat)]
    posts, tasks = columns("search_results"), columns("tasks")
    assert {c: posts.get(c) for c in want_posts} == want_posts
    assert {c: tasks.get(c) for c in want_tasks} == want_tasks
    _counts_match(emitted, query)
    answers = [rows[0][0] for rows in query(*(FLAT_QUERIES if flat else QUERIES[(loader, flat)]))]
    expected = _expected(emitted, flat)
    assert answers == expected
    assert all(n > 0 for n in expected), expected
