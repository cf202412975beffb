"""Create the loader's tables before any sub-source step runs: one serial step, every run.

target-postgres creates a missing schema or table (and adds a missing column) without a
lock: sub-source steps starting together on an empty schema all try `CREATE SCHEMA`/`CREATE
TABLE`, and all but one fail ("already exists"). Singer targets create a stream's table when
its SCHEMA message arrives, so this step sends the loader the SCHEMA message of every
selected stream — from the tap's own catalog as Meltano resolves it — and no record. Tables
that exist already are left as they are; a tap upgrade that adds a column gets it added
here, once, before the sub-source steps run.
"""

from __future__ import annotations

import json
from typing import Any

from orchestration.project import EXTRACTOR
from orchestration.runner import Meltano


def schema_messages(catalog: dict[str, Any]) -> list[str]:
    """One Singer SCHEMA message per selected stream of a catalog."""
    lines = []
    for stream in catalog.get("streams", []):
        top: dict[str, Any] = next(
            (m["metadata"] for m in stream.get("metadata", []) if m["breadcrumb"] == []), {}
        )
        if not top.get("selected"):
            continue
        keys = stream.get("key_properties") or top.get("table-key-properties") or []
        message = {
            "type": "SCHEMA",
            "stream": stream["tap_stream_id"],
            "schema": stream["schema"],
            "key_properties": keys,
        }
        lines.append(json.dumps(message))
    return lines


def prepare_tables(meltano: Meltano, loader: str) -> list[str]:
    """Send the loader the SCHEMA of every selected stream; returns the streams."""
    dumped = meltano.run(["invoke", "--dump=catalog", EXTRACTOR], label="catalog")
    catalog = json.loads(dumped.stdout)
    lines = schema_messages(catalog)
    meltano.run(["invoke", loader], stdin="\n".join(lines) + "\n", label="tables")
    return [json.loads(line)["stream"] for line in lines]
