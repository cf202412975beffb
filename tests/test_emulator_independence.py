"""The emulator stands for the real API: it must not share code with the tap it tests."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tap_data365.emulator.instants import instant_us

EMULATOR_DIR = Path(__file__).resolve().parent.parent / "tap_data365" / "emulator"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_emulator_module_imports_the_tap() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in sorted(EMULATOR_DIR.glob("*.py"))
        for name in _imported_modules(path)
        if name.startswith("tap_data365") and not name.startswith("tap_data365.emulator")
    }
    assert not offenders


def test_running_the_emulator_loads_no_tap_module() -> None:
    # Importing every emulator module and building its app must not pull in any tap module
    # (a lazy import inside a function would escape the static check above).
    script = (
        "import importlib, json, pkgutil, sys\n"
        "import tap_data365.emulator as emulator\n"
        "for info in pkgutil.iter_modules(emulator.__path__):\n"
        "    importlib.import_module('tap_data365.emulator.' + info.name)\n"
        "import urllib.request\n"
        "from tap_data365.emulator import Emulator, EmulatorConfig\n"
        "with Emulator(EmulatorConfig(api_key='k')) as emu:\n"
        "    body = json.dumps({'query': {'from': 0, 'size': 5, 'query': '*',\n"
        "                                 'data_sources': ['data365_twitter_keywords']}})\n"
        "    request = urllib.request.Request(emu.url + '/api/search', body.encode(),\n"
        "        {'apikey': 'k', 'Content-Type': 'application/json'}, method='POST')\n"
        "    assert len(json.load(urllib.request.urlopen(request, timeout=30))) > 0\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('tap_data365'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    tap_modules = [
        m for m in loaded if m != "tap_data365" and not m.startswith("tap_data365.emulator")
    ]
    assert tap_modules == []
    assert "tap_data365.emulator.instants" in loaded


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
