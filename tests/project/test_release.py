"""A release users can install: one version, one repository URL, written the same everywhere."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import yaml

import data365_emulator
import tap_data365
from tests.helpers.tap import REPO, run

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
URL = PYPROJECT["project"]["urls"]["Repository"]
VERSION = tap_data365.__version__
TAG_PIP_URL = f"git+{URL}.git@v{VERSION}"
EMULATOR_PYPROJECT = tomllib.loads((REPO / "emulator" / "pyproject.toml").read_text())
DOCS = [
    "README.md",
    "CHANGELOG.md",
    "meltano.yml",
    "hub/extractors/tap-data365/datastreamer-io.yml",
    "emulator/README.md",
    "emulator/pyproject.toml",
    "docs/incremental.md",
    "docs/querying.md",
    "docs/pipelines.md",
    "docs/setup-command.md",
    "orchestration/README.md",
    "bench/README.md",
]


def test_the_version_is_written_once() -> None:
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "tap_data365/__init__.py"
    about = run([Path(sys.executable).with_name("tap-data365"), "--about", "--format=json"])
    assert f'"version": "{VERSION}"' in about.stdout


def test_the_emulator_is_released_with_the_tap() -> None:
    # Its own distribution, built from emulator/ alone, so it cannot read the tap's file: it
    # carries the same version, and this test keeps the two in step.
    assert EMULATOR_PYPROJECT["project"]["name"] == "data365-emulator"
    assert EMULATOR_PYPROJECT["project"]["dynamic"] == ["version"]
    assert EMULATOR_PYPROJECT["tool"]["hatch"]["version"]["path"] == "data365_emulator/__init__.py"
    assert data365_emulator.__version__ == VERSION
    assert EMULATOR_PYPROJECT["project"]["urls"]["Repository"] == URL
    emulator = Path(sys.executable).with_name("data365-emulator")
    assert run([emulator, "--version"]).stdout.strip() == f"data365-emulator {VERSION}"


def test_changelog_describes_this_release() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text()
    versions = re.findall(r"^## (\S+)", changelog, re.M)
    assert versions[0] == VERSION


def test_every_doc_names_the_one_repository_and_this_release() -> None:
    for name in DOCS:
        text = (REPO / name).read_text()
        urls = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+?(?=\.git|[/\s)`'\"]|$)", text))
        assert urls <= {URL}, (name, urls)
        tags = set(re.findall(r"tap-data365\.git@(v[\w.]+)", text))
        assert tags <= {f"v{VERSION}"}, (name, tags)


def test_install_lines_and_the_hub_definition_install_this_release() -> None:
    readme = (REPO / "README.md").read_text()
    for tool in ("pip install", "pipx install", "uv tool install"):
        assert f"{tool} {TAG_PIP_URL}" in readme, tool
    assert f'pip install "{TAG_PIP_URL}#subdirectory=emulator"' in readme
    assert "pip install ./emulator" in readme
    hub = yaml.safe_load((REPO / "hub/extractors/tap-data365/datastreamer-io.yml").read_text())
    assert hub["pip_url"] == TAG_PIP_URL
    assert hub["repo"] == URL


def test_the_projects_meltano_yml_installs_the_clone() -> None:
    """`meltano install` on a fresh clone installs the tap from it: no tag to fetch, no rewrite."""
    extractors = yaml.safe_load((REPO / "meltano.yml").read_text())["plugins"]["extractors"]
    (tap,) = [p for p in extractors if p["name"] == "tap-data365"]
    assert tap["pip_url"] == "-e ."
    for name in ("scripts/demo.sh", "tests/helpers/pipeline.py", "tests/conftest.py"):
        text = (REPO / name).read_text()
        assert "local_meltano_yml" not in text, name
        assert not re.search(r"pip_url: (?!-e \.)", text), name
    assert not (REPO / "scripts" / "local_meltano_yml.py").exists()
    classifiers = PYPROJECT["project"]["classifiers"]
    pythons = [c.rsplit(" ", 1)[1] for c in classifiers if re.search(r":: 3\.\d+$", c)]
    assert pythons == ["3.11"]  # the only Python CI runs (.ci/run)
