"""Packaging: the built wheel, installed into a fresh virtualenv, still finds every schema.

The schemas live once, in the top-level schemas/ folder, and must ship inside the wheel. The
installed tap runs from a directory outside the checkout, so it cannot fall back to the
source tree.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import pytest
from pipeline_harness import copy_project
from tap_harness import REPO, run

SCHEMA_FILES = sorted(p.name for p in (REPO / "schemas").glob("*.json"))


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sdist and wheel built the standard way (the wheel from the sdist), from a copy."""
    source = tmp_path_factory.mktemp("source")
    copy_project(source)
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", out, source], timeout=900)
    return out


def test_the_wheel_carries_every_schema(dist: Path) -> None:
    assert SCHEMA_FILES == ["search_results.json", "sources.json", "tasks.json"]
    (wheel,) = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(n.removeprefix("tap_data365/schemas/") for n in names
                     if n.startswith("tap_data365/schemas/"))  # fmt: skip
    assert shipped == SCHEMA_FILES
    for name in SCHEMA_FILES:
        packed = json.loads(zipfile.ZipFile(wheel).read(f"tap_data365/schemas/{name}"))
        assert packed == json.loads((REPO / "schemas" / name).read_text())


def test_installed_wheel_discovers_every_stream(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel], timeout=900)
    # Nothing to reach: discovery must not need the API.
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_key": "k", "api_url": "http://127.0.0.1:9"}))
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    out = run([venv / "bin" / "tap-data365", "--discover", "--config", config], cwd=workdir).stdout
    catalog = json.loads(out)
    streams = {s["tap_stream_id"]: s for s in catalog["streams"]}
    assert sorted(f"{s}.json" for s in streams) == SCHEMA_FILES
    for name, stream in streams.items():
        expected = json.loads((REPO / "schemas" / f"{name}.json").read_text())
        assert set(stream["schema"]["properties"]) == set(expected["properties"]), name
    # And it is the installed copy that ran, not the checkout.
    where = run(
        [venv / "bin" / "python", "-c", "import tap_data365; print(tap_data365.__file__)"],
        cwd=workdir,
    ).stdout
    assert Path(where.strip()).is_relative_to(venv)
