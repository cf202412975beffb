"""Packaging: the built wheel, installed into a fresh virtualenv, still finds every schema.

The schemas live once, in the top-level schemas/ folder, and must ship inside the wheel. The
installed tap runs from a directory outside the checkout, so it cannot fall back to the
source tree. The tap's wheel carries the tap alone; the emulator (emulator/) is its own
distribution and builds, installs and runs from its folder alone.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

import pytest

import tap_data365
from tests.helpers.pipeline import copy_project
from tests.helpers.tap import REPO, run

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


def test_the_tap_wheel_carries_the_tap_alone(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    assert any(n.startswith("tap_data365/") for n in names)
    packages = {n.split("/", 1)[0] for n in names if "/" in n}
    assert packages == {"tap_data365", f"tap_data365-{tap_data365.__version__}.dist-info"}
    assert [n for n in names if "emulator" in n.lower()] == []
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    scripts = archive.read(entry_points).decode().split("[console_scripts]", 1)[1]
    commands = [line.split("=", 1)[0].strip() for line in scripts.splitlines() if "=" in line]
    assert commands == ["tap-data365"]
    # The sdist too: the emulator's code ships in its own distribution only.
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        members = [name.split("/", 1)[1] for name in tar.getnames() if "/" in name]
    assert any(m.startswith("tap_data365/") for m in members)
    assert [m for m in members if "data365_emulator" in m or "tap_data365/emulator" in m] == []
    assert [m for m in members if m.startswith("emulator/")] == []  # nor its tests, its README


@pytest.fixture(scope="module")
def emulator_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The emulator's sdist and wheel, built from a copy of its folder and nothing else."""
    source = tmp_path_factory.mktemp("emulator-source") / "emulator"
    shutil.copytree(REPO / "emulator", source, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("emulator-dist")
    run([sys.executable, "-m", "build", "--outdir", out, source], timeout=900)
    return out


def test_the_emulator_distribution_builds_on_its_own(emulator_dist: Path) -> None:
    version = tap_data365.__version__  # released together, under one tag
    (wheel,) = emulator_dist.glob("*.whl")
    assert wheel.name == f"data365_emulator-{version}-py3-none-any.whl"
    sdists = [p.name for p in emulator_dist.glob("*.tar.gz")]
    assert sdists == [f"data365_emulator-{version}.tar.gz"]
    archive = zipfile.ZipFile(wheel)
    packages = {n.split("/", 1)[0] for n in archive.namelist()}
    assert packages == {"data365_emulator", f"data365_emulator-{version}.dist-info"}
    shipped = {n.removeprefix("data365_emulator/") for n in archive.namelist()
               if n.startswith("data365_emulator/")}  # fmt: skip
    assert shipped == {p.name for p in (REPO / "emulator" / "data365_emulator").glob("*.py")}
    (entry_points,) = [n for n in archive.namelist() if n.endswith("entry_points.txt")]
    scripts = archive.read(entry_points).decode()
    assert "data365-emulator = data365_emulator.__main__:main" in scripts
    # The sdist carries the emulator's own tests (never the wheel, above), and nothing of the tap.
    with tarfile.open(emulator_dist / sdists[0]) as sdist:
        members = {m.split("/", 1)[1] for m in sdist.getnames() if "/" in m}
    tests = {p.name for p in (REPO / "emulator" / "tests").glob("*.py")}
    assert {m.removeprefix("tests/") for m in members if m.startswith("tests/")} == tests
    tops = {"data365_emulator", "tests", "README.md", "pyproject.toml", "PKG-INFO"}
    assert {m.split("/", 1)[0] for m in members} == tops


def test_the_installed_emulator_serves_without_the_tap(emulator_dist: Path, tmp_path: Path) -> None:
    (wheel,) = emulator_dist.glob("*.whl")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv])
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel], timeout=900)
    python = venv / "bin" / "python"
    # Run from outside the checkout, where neither package could be picked up by accident.
    assert run([python, "-c", "import tap_data365"], cwd=tmp_path, check=False).returncode != 0
    where = run([python, "-c", "import data365_emulator as e; print(e.__file__)"], cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(venv)
    help_text = run([python, "-m", "data365_emulator", "--help"], cwd=tmp_path).stdout
    assert "--live-rate" in help_text
    process = subprocess.Popen(
        [venv / "bin" / "data365-emulator", "--port", "0", "--scale", "0.01"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("emulator listening on http://127.0.0.1:"), line
        url = line.split(" on ", 1)[1].strip()
        with urllib.request.urlopen(url + "/_emulator/health", timeout=30) as answer:
            assert json.load(answer)["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
