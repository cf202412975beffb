"""Run SQL in the warehouses the pipeline tests load: DuckDB files and PostgreSQL schemas."""

from __future__ import annotations

import decimal
import json
from pathlib import Path
from typing import Any

from tests.helpers.pipeline import MeltanoProject
from tests.helpers.tap import run

_DUCKDB_SQL = """
import datetime, decimal, json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("SET search_path = 'data365'")
out = [con.execute(q).fetchall() for q in json.loads(sys.argv[2])]
print(json.dumps(out, default=str))
"""


def duckdb_query(project: MeltanoProject, database: Path, *queries: str) -> list[list[list[Any]]]:
    """Each query's rows, read with the duckdb that target-duckdb uses (values JSON-ified)."""
    python = project.plugin_python("loaders", "target-duckdb")
    out = run([python, "-c", _DUCKDB_SQL, database, json.dumps(queries)]).stdout
    result: list[list[list[Any]]] = json.loads(out)
    return result


def postgres_query(url: str, schema: str, *queries: str) -> list[list[list[Any]]]:
    """Each query's rows, with ``schema`` first on the search path (values JSON-ified)."""
    import psycopg  # noqa: PLC0415  (only the postgres tests need it)

    results = []
    with psycopg.connect(url) as con:
        con.execute(f'SET search_path TO "{schema}"')
        for query in queries:
            rows = con.execute(query).fetchall()
            results.append(json.loads(json.dumps([list(r) for r in rows], default=_plain)))
    return results


def _plain(value: object) -> object:
    """JSON for what psycopg returns: sums of bigints are Decimals, dates are dates."""
    if isinstance(value, decimal.Decimal) and value == value.to_integral_value():
        return int(value)
    return str(value)


def duckdb_columns(project: MeltanoProject, database: Path, table: str) -> dict[str, str]:
    (rows,) = duckdb_query(
        project,
        database,
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = 'data365' AND table_name = '{table}'",
    )
    return dict(rows)


def postgres_columns(url: str, schema: str, table: str) -> dict[str, str]:
    (rows,) = postgres_query(
        url,
        schema,
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = '{schema}' AND table_name = '{table}'",
    )
    return dict(rows)
