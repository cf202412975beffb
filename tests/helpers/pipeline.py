"""Helpers for the pipeline tests: run Meltano, read what the tap emitted and what landed."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import yaml

from data365_emulator import Emulator
from tests.helpers.emulator import start_emulator
from tests.helpers.tap import REPO, clean_env, run

#: The project files a Meltano project copy needs: meltano.yml installs the tap from its own
#: folder (`pip_url: -e .`), as it does in a fresh clone.
PROJECT_FILES = ("meltano.yml", "pyproject.toml", "README.md", "tap_data365", "schemas")


def copy_project(root: Path) -> None:
    """Copy the files a Meltano project or a package build needs into ``root``."""
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)


#: Installed over the extractor's console script in the test project: a test that sets
#: DATA365_CAPTURE gets a copy of every Singer message the tap wrote to the target.
CAPTURE_WRAPPER = """#!/usr/bin/env bash
# tests/conftest.py: copy the tap's Singer output to $DATA365_CAPTURE (sync runs only).
real="$(dirname "$0")/tap-data365.real"
if [[ -z "${DATA365_CAPTURE:-}" || "${1:-}" == setup || " $* " == *" --discover "* \\
      || " $* " == *" --about "* ]]; then
    exec "$real" "$@"
fi
set -o pipefail
"$real" "$@" | tee "$DATA365_CAPTURE"
"""


class MeltanoProject:
    """A copy of this repository's Meltano project in a temporary directory."""

    def __init__(self, root: Path, meltano: Path) -> None:
        self.root = root
        self.meltano = meltano

    def command(self, *args: str) -> list[str]:
        return [str(self.meltano), *args]

    def run(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        return run(self.command(*args), cwd=self.root, env=clean_env(env), timeout=timeout)

    def plugin_python(self, plugin_type: str, name: str) -> Path:
        """The Python of an installed plugin's virtualenv (e.g. to read what a target wrote)."""
        return self.root / ".meltano" / plugin_type / name / "venv" / "bin" / "python"


def _emulator_environment_key() -> str:
    """The api_key meltano.yml's `emulator` environment gives the tap: read, not restated."""
    environments = yaml.safe_load((REPO / "meltano.yml").read_text())["environments"]
    (emulator,) = [e for e in environments if e["name"] == "emulator"]
    extractors = emulator["config"]["plugins"]["extractors"]
    (tap,) = [p for p in extractors if p["name"] == "tap-data365"]
    return str(tap["config"]["api_key"])


#: Not the tests' API_KEY: Meltano runs the tap with the `emulator` environment's own key.
EMULATOR_API_KEY = _emulator_environment_key()
STREAMS = ("sources", "tasks", "search_results")
KEYS: dict[str, tuple[str, ...]] = {
    "sources": ("name",),
    "tasks": ("source", "id"),
    "search_results": ("data_source", "id"),
}
#: Small seeded indexes: the pipeline tests check every row, not throughput.
SEED_POSTS = {"twitter_keywords": 1500, "tiktok_hashtag": 300, "instagram_profile": 120}
TWITTER = ("twitter_keywords",)
REST = ("tiktok_hashtag", "instagram_profile", "facebook_profile", "linkedin_company")

Key = tuple[Any, ...]


def pipeline_emulator(**changes: Any) -> AbstractContextManager[Emulator]:
    """An emulator for Meltano's `emulator` environment; tasks finish only when told to."""
    config = {
        "api_key": EMULATOR_API_KEY,
        "seed_posts": SEED_POSTS,
        "posts_per_task": 40,
        "polls_to_finish": 1000,
        **changes,
    }
    return start_emulator(**config)


def key_of(stream: str, record: Mapping[str, Any]) -> Key:
    return tuple(record[k] for k in KEYS[stream])


@dataclasses.dataclass
class Emitted:
    """The RECORD messages of one tap run, per stream."""

    records: dict[str, list[dict[str, Any]]]

    def count(self, stream: str) -> int:
        return len(self.records.get(stream, []))

    def keys(self, stream: str) -> set[Key]:
        return {key_of(stream, r) for r in self.records.get(stream, [])}


def read_capture(path: Path) -> Emitted:
    """Parse the Singer messages the capture wrapper copied (see conftest.CAPTURE_WRAPPER)."""
    records: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in path.read_text().splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records[message["stream"]].append(message["record"])
    return Emitted(dict(records))


def state_id(extractor: str, loader: str, suffix: str) -> str:
    return f"emulator:{extractor}-to-{loader}:{suffix}"


def meltano_run(
    project: MeltanoProject,
    emu: Emulator,
    loader: str,
    *,
    suffix: str,
    capture: Path,
    extractor: str = "tap-data365",
    env: Mapping[str, str] | None = None,
) -> Emitted:
    """`meltano --environment=emulator run EXTRACTOR LOADER`; returns what the tap emitted."""
    project.run(*run_args(extractor, loader, suffix), env=run_env(emu, capture, env))
    return read_capture(capture)


def run_args(extractor: str, loader: str, suffix: str) -> list[str]:
    return ["--environment=emulator", "run", "--no-install", f"--state-id-suffix={suffix}",
            extractor, loader]  # fmt: skip


def run_env(emu: Emulator, capture: Path, env: Mapping[str, str] | None) -> dict[str, str]:
    return {"DATA365_EMULATOR_URL": emu.url, "DATA365_CAPTURE": str(capture), **(env or {})}


def get_state(project: MeltanoProject, state: str) -> dict[str, Any]:
    out = project.run("--environment=emulator", "state", "get", state).stdout
    value: dict[str, Any] = json.loads(out)
    return value


def state_sources(state: Mapping[str, Any]) -> dict[str, set[str]]:
    """Per stream, the sub-sources named by the contexts of its state partitions."""
    found: dict[str, set[str]] = {}
    for stream, bookmark in state.get("singer_state", state).get("bookmarks", {}).items():
        names = found.setdefault(stream, set())
        for partition in bookmark.get("partitions", []):
            names.update(str(v).removeprefix("data365_") for v in partition["context"].values())
    return found


def add_finished_task(emu: Emulator, source: str, value: str, from_date: str, to_date: str) -> int:
    """A task that finishes at once, as upstream collection would; returns the posts it added."""
    before = emu.post_count(source)
    emu.add_task(source, value, from_date, to_date, status="running")
    emu.finish_running_tasks()
    added = emu.post_count(source) - before
    assert added > 0
    return added


def total_posts(emu: Emulator, sources: Iterable[str]) -> int:
    return sum(emu.post_count(s) for s in sources)


# ---------------------------------------------------------------- what landed


def jsonl_records(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Every line target-jsonl appended, per stream file."""
    return {
        stream: [json.loads(line) for line in (folder / f"{stream}.jsonl").read_text().splitlines()]
        if (folder / f"{stream}.jsonl").exists()
        else []
        for stream in STREAMS
    }


_DUCKDB_KEYS = """
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
out = {}
for table, keys in json.loads(sys.argv[2]).items():
    rows = con.execute(f"SELECT {', '.join(keys)} FROM data365.{table}").fetchall()
    out[table] = [list(map(str, row)) for row in rows]
print(json.dumps(out))
"""


def duckdb_keys(project: MeltanoProject, database: Path) -> dict[str, list[Key]]:
    """Each table's key columns, row by row, read with the duckdb that target-duckdb uses."""
    python = project.plugin_python("loaders", "target-duckdb")
    out = run([python, "-c", _DUCKDB_KEYS, database, json.dumps(KEYS)]).stdout
    return {table: [tuple(row) for row in rows] for table, rows in json.loads(out).items()}


def postgres_keys(url: str, schema: str) -> dict[str, list[Key]]:
    import psycopg  # noqa: PLC0415  (only the postgres tests need it)
    from psycopg import sql  # noqa: PLC0415

    out: dict[str, list[Key]] = {}
    with psycopg.connect(url) as con:
        for table, keys in KEYS.items():
            query = sql.SQL("SELECT {} FROM {}.{}").format(
                sql.SQL(", ").join(sql.Identifier(k) for k in keys),
                sql.Identifier(schema),
                sql.Identifier(table),
            )
            out[table] = [tuple(map(str, row)) for row in con.execute(query).fetchall()]
    return out


def as_text(keys: Iterable[Key]) -> list[Key]:
    """Keys with every part as text, to compare emitted JSON values with database rows."""
    return [tuple(map(str, key)) for key in keys]
