"""The import graph: the pure modules load no HTTP stack, and one module of the tap sends."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tap_harness import REPO

PURE = [
    "tap_data365.errors",
    "tap_data365.normalize",
    "tap_data365.search_results.windows",
]


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_does_not_import_requests(module: str) -> None:
    probe = f"import sys, {module}; print([m for m in ('requests', 'urllib3') if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.strip() == "[]", module


def test_one_module_of_the_tap_owns_http_sessions() -> None:
    package = REPO / "tap_data365"
    owners = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "emulator" not in path.parts and "requests.Session(" in path.read_text()
    )
    assert owners == ["http/transport.py"]
