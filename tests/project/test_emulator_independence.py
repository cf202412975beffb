"""The emulator stands for the real API: it must not share code with the tap it tests.

It is its own distribution (emulator/, package ``data365_emulator``): no emulator module
imports the tap, running it loads no tap module, and no tap module imports the emulator.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import data365_emulator
from data365_emulator.instants import instant_us
from tests.helpers.tap import REPO

EMULATOR_DIR = REPO / "emulator" / "data365_emulator"
TAP_DIR = REPO / "tap_data365"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _offenders(folder: Path, banned: str) -> set[str]:
    return {
        f"{path.relative_to(folder)}: {name}"
        for path in sorted(folder.rglob("*.py"))
        for name in _imported_modules(path)
        if name == banned or name.startswith(banned + ".")
    }


def test_the_emulator_tested_is_the_one_in_this_repository() -> None:
    # An installed copy elsewhere would make every check below look at the wrong code.
    assert Path(data365_emulator.__file__).resolve().parent == EMULATOR_DIR
    assert len(list(EMULATOR_DIR.glob("*.py"))) > 10


def test_no_emulator_module_imports_the_tap() -> None:
    assert not _offenders(EMULATOR_DIR, "tap_data365")


def test_no_tap_module_imports_the_emulator() -> None:
    assert len(list(TAP_DIR.rglob("*.py"))) > 10
    assert not _offenders(TAP_DIR, "data365_emulator")


def test_running_the_emulator_loads_no_tap_module() -> None:
    # Importing every emulator module and building its app must not pull in any tap module
    # (a lazy import inside a function would escape the static check above).
    script = (
        "import importlib, json, pkgutil, sys\n"
        "import data365_emulator as emulator\n"
        "for info in pkgutil.iter_modules(emulator.__path__):\n"
        "    importlib.import_module('data365_emulator.' + info.name)\n"
        "import urllib.request\n"
        "from data365_emulator import Emulator, EmulatorConfig\n"
        "with Emulator(EmulatorConfig(api_key='k', live_rate=50.0)) as emu:\n"
        "    body = json.dumps({'query': {'from': 0, 'size': 5, 'query': '*',\n"
        "                                 'data_sources': ['data365_twitter_keywords']}})\n"
        "    request = urllib.request.Request(emu.url + '/api/search', body.encode(),\n"
        "        {'apikey': 'k', 'Content-Type': 'application/json'}, method='POST')\n"
        "    assert len(json.load(urllib.request.urlopen(request, timeout=30))) > 0\n"
        "    request = urllib.request.Request(emu.url + '/_emulator/arrivals',\n"
        "        json.dumps({'count': 3}).encode(), method='POST')\n"
        "    assert json.load(urllib.request.urlopen(request, timeout=30))['added'] == 3\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert [m for m in loaded if m == "tap_data365" or m.startswith("tap_data365.")] == []
    assert "data365_emulator.instants" in loaded
    assert "data365_emulator.live" in loaded


@pytest.mark.parametrize(
    ("spelling", "expected_us"),
    [
        ("2024-03-01T12:30:05.000", 1_709_296_205_000_000),
        ("2024-03-01T12:30:05Z", 1_709_296_205_000_000),
        ("2024-03-01T12:30:05.123456Z", 1_709_296_205_123_456),
        ("2024-03-01T12:30:05.123456789Z", 1_709_296_205_123_456),
        ("2024-03-01T14:30:05+02:00", 1_709_296_205_000_000),
        ("2024-03-01 12:30:05", 1_709_296_205_000_000),
        ("2024-03-01", 1_709_251_200_000_000),
        (1_709_296_205, 1_709_296_205_000_000),
        ("1709296205000", 1_709_296_205_000_000),
        ("", None),
        (None, None),
    ],
)
def test_the_emulator_reads_every_date_spelling_on_its_own(
    spelling: object, expected_us: int | None
) -> None:
    assert instant_us(spelling) == expected_us


@pytest.mark.parametrize("bad", ["last tuesday", "2024-02-30", "2024-03-01T25:00:00", True, {}])
def test_the_emulator_refuses_what_is_not_a_date(bad: object) -> None:
    with pytest.raises(ValueError, match="not a"):
        instant_us(bad)
