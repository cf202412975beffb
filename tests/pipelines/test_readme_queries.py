"""The SQL of docs/querying.md ("Querying the posts", linked from the README) runs on the demo's
pipeline and gives the right rows.

Every ```sql block of that guide starting with `-- PostgreSQL: <question>` or
`-- DuckDB: <question>` is run on a warehouse loaded by `meltano --environment=emulator run
tap-data365 target-…` (what scripts/demo.sh runs); its rows must equal the answer computed
in Python from the records the tap emitted. The emulator sends some posts in odd shapes
(counts as text, hashtags as one string, no author object...): the queries must still hold.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from data365_emulator import Emulator
from tests.helpers.pipeline import Emitted, MeltanoProject, meltano_run, pipeline_emulator
from tests.helpers.tap import REPO
from tests.helpers.warehouses import duckdb_query, postgres_query

pytestmark = pytest.mark.pipeline

ENGAGEMENT = {
    "content": ("likes_count",),
    "twitter": ("retweet_count", "reply_count", "quote_count"),
    "tiktok": ("share_count",),
    "facebook": ("shares_count",),
    "instagram": ("comments_count",),
}


def readme_queries() -> dict[str, dict[str, str]]:
    """warehouse → question → SQL, from the guide "Querying the posts" (docs/querying.md)."""
    text = (REPO / "docs" / "querying.md").read_text()
    section = text.split("# Querying the posts", 1)[1].split("\n# ", 1)[0]
    found: dict[str, dict[str, str]] = {"PostgreSQL": {}, "DuckDB": {}}
    for block in re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL):
        head = re.match(r"-- (PostgreSQL|DuckDB): (.+)\n", block)
        if head:
            found[head.group(1)][head.group(2).strip()] = block
    return found


def posts_per_day(posts: list[dict[str, Any]]) -> list[list[Any]]:
    counts = Counter((p["doc_date"][:10], p["data_source"]) for p in posts)
    return [[day, source, n] for (day, source), n in sorted(counts.items())]


def top_hashtags(posts: list[dict[str, Any]]) -> list[list[Any]]:
    counts = Counter(
        t.lower() for p in posts for t in (p.get("content") or {}).get("hashtags") or ()
    )
    return [[tag, n] for tag, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]]


def most_engaged(posts: list[dict[str, Any]]) -> list[list[Any]]:
    totals: dict[tuple[str, str], list[int]] = {}
    for p in posts:
        handle = (p.get("author") or {}).get("handle")
        if handle is None:
            continue
        score = sum(
            (p.get(block) or {}).get(f) or 0 for block, fs in ENGAGEMENT.items() for f in fs
        )
        entry = totals.setdefault((p["data_source"], handle), [0, 0])
        entry[0] += 1
        entry[1] += score
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1][1], kv[0][1], kv[0][0]))[:10]
    return [[source, handle, n, score] for (source, handle), (n, score) in ranked]


ANSWERS: dict[str, Callable[[list[dict[str, Any]]], list[list[Any]]]] = {
    "posts per day per source": posts_per_day,
    "top hashtags": top_hashtags,
    "most engaged authors": most_engaged,
}


def test_the_readme_has_each_question_for_both_warehouses() -> None:
    queries = readme_queries()
    assert set(queries["PostgreSQL"]) == set(queries["DuckDB"]) == set(ANSWERS)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with pipeline_emulator(odd_values=True) as emulator:
        yield emulator


@pytest.mark.parametrize("loader", ["target-duckdb", "target-postgres"])
def test_readme_queries_answer_what_the_records_say(
    loader: str,
    meltano_project: MeltanoProject,
    emu: Emulator,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if loader == "target-duckdb":
        database = tmp_path / "demo.duckdb"
        env = {"TARGET_DUCKDB_FILEPATH": str(database)}
        warehouse = "DuckDB"

        def query(*sql: str) -> list[list[list[Any]]]:
            return duckdb_query(meltano_project, database, *sql)
    else:
        url, schema = request.getfixturevalue("pg_url"), f"data365_{uuid.uuid4().hex[:8]}"
        env = {"TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema}
        warehouse = "PostgreSQL"

        def query(*sql: str) -> list[list[list[Any]]]:
            # The README names the schema data365; here each test has its own.
            return postgres_query(url, schema, *(s.replace("data365.", "") for s in sql))

    emitted: Emitted = meltano_run(
        meltano_project,
        emu,
        loader,
        suffix=uuid.uuid4().hex[:12],
        capture=tmp_path / "run.singer",
        env=env,
    )
    posts = emitted.records["search_results"]
    questions = readme_queries()[warehouse]
    results = query(*(questions[q] for q in ANSWERS))
    for (question, answer), rows in zip(ANSWERS.items(), results, strict=True):
        expected = answer(posts)
        assert expected, question
        assert rows == expected, question
