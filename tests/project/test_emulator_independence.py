"""The emulator stands for the real API: it must not share code with the tap it tests.

It is its own distribution (emulator/, package ``data365_emulator``, its own tests in
emulator/tests): no emulator module imports the tap, running it loads no tap module, no tap
module imports the emulator, and the emulator's tests import nothing of the tap's.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import data365_emulator
from data365_emulator.sources import SOURCES as EMULATOR_SOURCES
from tap_data365.normalize import KNOWN_SOURCES
from tests.helpers.tap import REPO

EMULATOR_DIR = REPO / "emulator" / "data365_emulator"
EMULATOR_TESTS = REPO / "emulator" / "tests"
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


def test_the_emulators_tests_import_nothing_of_the_taps() -> None:
    assert len(list(EMULATOR_TESTS.glob("test_*.py"))) > 4
    assert not _offenders(EMULATOR_TESTS, "tap_data365")
    # The tap's tests are the package ``tests``: none of its helpers or fixtures either.
    assert not _offenders(EMULATOR_TESTS, "tests")


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


def test_the_tap_knows_the_sources_the_emulator_serves() -> None:
    # Each keeps its own list (the emulator's tests check it against the documentation).
    assert list(KNOWN_SOURCES) == list(EMULATOR_SOURCES)
