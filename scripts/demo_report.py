"""Row counts and sample rows of the demo's DuckDB file (run with target-duckdb's Python).

    python scripts/demo_report.py snapshot DB            > before.json
    python scripts/demo_report.py report DB before.json

Runs in target-duckdb's own virtualenv, so it reads the file with the duckdb that wrote it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import duckdb

SCHEMA = "data365"
TABLES = ("sources", "tasks", "search_results")


def counts(db: Path) -> dict[str, int]:
    if not db.exists():
        return {}
    with duckdb.connect(str(db), read_only=True) as con:
        present = {
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                [SCHEMA],
            ).fetchall()
        }
        return {
            t: _one(con.execute(f"SELECT count(*) FROM {SCHEMA}.{t}").fetchone())  # noqa: S608
            for t in TABLES
            if t in present
        }


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def report(db: Path, before: dict[str, int]) -> None:
    after = counts(db)
    print(f"\nDuckDB file: {db}")
    print(f"{'table':<24}{'rows':>8}{'new this run':>15}")
    for table in TABLES:
        now = after.get(table, 0)
        print(f"{SCHEMA + '.' + table:<24}{now:>8}{now - before.get(table, 0):>+15}")
    if "search_results" not in after:
        return
    print("\nsearch_results by source:")
    for source, n in rows(
        db,
        "SELECT data_source, count(*) FROM data365.search_results GROUP BY 1 ORDER BY 2 DESC",
    ):
        print(f"  {source:<32}{n:>7}")
    print("\nsample rows (newest first):")
    for source, post_id, doc_date, content in rows(
        db,
        # The tap's one date-time format (normalize.TIMESTAMP_FORMAT): str() of a TIMESTAMP
        # drops zero microseconds, so two spellings would show.
        "SELECT data_source, id, strftime(doc_date, '%Y-%m-%dT%H:%M:%S.%fZ'), "
        "CAST(content AS VARCHAR) FROM data365.search_results ORDER BY doc_date DESC, id LIMIT 3",
    ):
        text = _text(content)
        print(f"  {doc_date}  {source}  {post_id}\n    {text[:90]}")
    if "tasks" in after:
        print("\ntasks:")
        for source, value, from_date, to_date, status in rows(
            db,
            "SELECT source, value, from_date, to_date, status FROM data365.tasks "
            "ORDER BY source, from_date",
        ):
            print(f"  {source:<18}{value!s:<15} {from_date!s} .. {to_date!s}  {status}")


def _text(content: str | None) -> str:
    """The post text when content is a JSON object with a text field, else the raw value."""
    if content is None:
        return ""
    try:
        value = json.loads(content)
    except ValueError:
        return content
    if isinstance(value, dict):
        for key in ("text", "title", "description", "body"):
            if isinstance(value.get(key), str):
                return str(value[key])
    return content


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "snapshot":
        print(json.dumps(counts(Path(argv[1]))))
        return 0
    if len(argv) >= 3 and argv[0] == "report":
        report(Path(argv[1]), json.loads(Path(argv[2]).read_text()))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


def _one(row: tuple[Any, ...] | None) -> int:
    assert row is not None  # count(*) always answers one row
    return int(row[0])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
