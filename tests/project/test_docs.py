"""Docs that cannot drift: the tap's settings, meltano.yml and the README say the same thing,
and the README and its guides link only to what exists.

The source of truth is the tap itself (`config_jsonschema`, printed by `tap-data365 --about`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from data365_emulator.__main__ import _parser as emulator_parser
from tap_data365.setup.specs import validate_tasks
from tests.helpers.tap import REPO, run

MELTANO_YML = yaml.safe_load((REPO / "meltano.yml").read_text())
HUB_YML = yaml.safe_load(
    (REPO / "hub" / "extractors" / "tap-data365" / "datastreamer-io.yml").read_text()
)
README = (REPO / "README.md").read_text()
SETTINGS_HEADER = "| Setting | Required | Default | Description |"
#: The long guides, beside what they describe; the README links each of them.
GUIDES = (
    "docs/incremental.md",
    "docs/querying.md",
    "docs/pipelines.md",
    "docs/setup-command.md",
    "orchestration/README.md",
    "bench/README.md",
    "emulator/README.md",
)


def _about(fmt: str) -> str:
    # The installed console script, i.e. the command the README tells users to run.
    tap = Path(sys.executable).with_name("tap-data365")
    return run([tap, "--about", f"--format={fmt}"]).stdout


@pytest.fixture(scope="module")
def about() -> dict[str, Any]:
    info: dict[str, Any] = json.loads(_about("json"))
    return info


def _extractor(name: str = "tap-data365") -> dict[str, Any]:
    (plugin,) = [p for p in MELTANO_YML["plugins"]["extractors"] if p["name"] == name]
    found: dict[str, Any] = plugin
    return found


def _table_after(text: str, header: str) -> list[str]:
    """The markdown table starting at `header`: that line and the `|` lines after it."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == header]
    assert len(starts) == 1, f"expected exactly one table headed {header!r}, found {len(starts)}"
    table = []
    for line in lines[starts[0] :]:
        if not line.strip().startswith("|"):
            break
        table.append(line.strip())
    return table


def test_readme_settings_table_is_the_taps_about_output() -> None:
    expected = _table_after(_about("markdown"), SETTINGS_HEADER)
    assert len(expected) > 10
    assert _table_after(README, SETTINGS_HEADER) == expected, (
        "README.md's settings table differs from `tap-data365 --about --format=markdown`: "
        "paste the table from that command's `## Settings` section"
    )


def _definitions() -> dict[str, dict[str, Any]]:
    """The plugin definitions users get: meltano.yml's extractor, and the Meltano Hub file."""
    return {"meltano.yml": _extractor(), "hub": HUB_YML}


@pytest.mark.parametrize("where", ["meltano.yml", "hub"])
def test_plugin_definitions_declare_every_setting_of_the_tap_in_order(
    about: dict[str, Any], where: str
) -> None:
    properties = about["settings"]["properties"]
    declared = _definitions()[where]["settings"]
    assert [s["name"] for s in declared] == list(properties)
    for setting in declared:
        schema = properties[setting["name"]]
        name = setting["name"]
        assert setting.get("label") == schema.get("title"), name
        assert _words(setting.get("description")) == _words(schema.get("description")), name
        assert bool(setting.get("sensitive")) == bool(schema.get("secret")), name
        assert setting.get("kind") == _kind(schema), name


def _words(text: str | None) -> str:
    return " ".join((text or "").split())


def _kind(schema: dict[str, Any]) -> str:
    types = (
        [t for t in schema["type"] if t != "null"]
        if isinstance(schema["type"], list)
        else [schema["type"]]
    )
    (json_type,) = types
    if json_type == "string" and schema.get("format") == "date-time":
        return "date_iso8601"
    return {"string": "string", "integer": "integer", "number": "decimal", "boolean": "boolean",
            "array": "array", "object": "object"}[json_type]  # fmt: skip


@pytest.mark.parametrize("where", ["meltano.yml", "hub"])
def test_plugin_definitions_capabilities_and_required_settings_match_the_tap(
    about: dict[str, Any], where: str
) -> None:
    plugin = _definitions()[where]
    assert sorted(plugin["capabilities"]) == sorted(about["capabilities"])
    assert plugin["settings_group_validation"] == [sorted(about["settings"].get("required", []))]
    assert plugin["namespace"] == "tap_data365"
    assert plugin["executable"] == "tap-data365"


def test_hub_definition_has_what_meltano_hub_requires() -> None:
    required = {"name", "namespace", "variant", "label", "description", "repo", "pip_url",
                "capabilities", "keywords", "settings", "maintenance_status"}  # fmt: skip
    assert required <= set(HUB_YML)
    assert HUB_YML["name"] == _extractor()["name"]
    assert HUB_YML["description"] == _extractor()["description"]
    # The Hub installs the release; this repository's meltano.yml installs the clone
    # (tests/project/test_release.py checks both URLs).
    assert HUB_YML["pip_url"] != _extractor()["pip_url"]


def test_meltano_yml_streams_and_commands() -> None:
    tap = _extractor()
    streams = sorted(p.stem for p in (REPO / "schemas").glob("*.json"))
    assert sorted(tap["select"]) == sorted(f"{s}.*" for s in streams)
    assert tap["namespace"] == "tap_data365"
    assert tap["executable"] == "tap-data365"
    assert tap["commands"]["setup"]["args"].startswith("setup --config ENV")


def _all_settings() -> list[dict[str, Any]]:
    plugins = MELTANO_YML["plugins"]
    return [s for kind in plugins.values() for p in kind for s in p.get("settings", [])]


def test_meltano_yml_uses_no_deprecated_keys() -> None:
    assert "version" not in MELTANO_YML
    assert MELTANO_YML["requires_meltano"].startswith(">=4")
    assert MELTANO_YML["send_anonymous_usage_stats"] is False
    assert not [s["name"] for s in _all_settings() if s.get("kind") in {"password", "hidden"}]
    for kind in MELTANO_YML["plugins"].values():
        for plugin in kind:
            assert plugin.get("namespace") or plugin.get("inherit_from"), plugin["name"]
            assert plugin.get("pip_url") or plugin.get("inherit_from"), plugin["name"]
    environments = {e["name"] for e in MELTANO_YML["environments"]}
    assert MELTANO_YML["default_environment"] in environments
    assert {"dev", "emulator"} <= environments


def test_loaders_keep_the_settings_that_make_them_lossless() -> None:
    loaders = {p["name"]: p for p in MELTANO_YML["plugins"]["loaders"]}
    assert set(loaders) == {"target-jsonl", "target-duckdb", "target-postgres"}
    duckdb = loaders["target-duckdb"]
    assert duckdb["config"]["add_metadata_columns"] is True
    pins = dict(re.findall(r"([\w-]+)==([\w.]+)", duckdb["pip_url"]))
    assert pins["target-duckdb"] == "0.8.0"
    # duckdb >= 1.3 drops a batch's first row (see meltano.yml); re-check before raising it.
    assert tuple(int(p) for p in pins["duckdb"].split(".")[:2]) < (1, 3)
    assert loaders["target-postgres"]["config"]["load_method"] == "upsert"
    assert loaders["target-postgres"]["pip_url"] == "meltanolabs-target-postgres==0.8.1"


def test_emulator_environment_declares_valid_tasks() -> None:
    (env,) = [e for e in MELTANO_YML["environments"] if e["name"] == "emulator"]
    (tap,) = [p for p in env["config"]["plugins"]["extractors"] if p["name"] == "tap-data365"]
    specs = validate_tasks(tap["config"]["tasks"])
    assert len(specs) >= 3


def test_readme_quick_start_runs_the_scripts_ci_runs() -> None:
    assert "bash scripts/demo.sh" in README
    assert "bash scripts/test.sh" in README
    assert (REPO / "scripts" / "demo.sh").is_file()
    ci = (REPO / ".ci" / "run").read_text()
    assert "exec bash scripts/test.sh" in ci


def test_help_names_the_setup_command() -> None:
    tap = Path(sys.executable).with_name("tap-data365")
    assert "tap-data365 setup --help" in run([tap, "--help"]).stdout


def test_emulator_help_describes_every_option_with_its_default() -> None:
    parser = emulator_parser()
    assert parser.formatter_class is argparse.ArgumentDefaultsHelpFormatter
    undescribed = [a.option_strings for a in parser._actions if not a.help]
    assert not undescribed
    emulator = Path(sys.executable).with_name("data365-emulator")
    text = " ".join(run([emulator, "--help"]).stdout.split())
    assert "0 picks a free port (default: 8765)" in text


def _outside_code(text: str) -> str:
    """The markdown text without its fenced blocks (a `#` there is a shell comment)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)


def _anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings: lower case, punctuation dropped, spaces → -."""
    headings = re.findall(r"^#{1,6} (.+)$", _outside_code(text), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def _relative_links(text: str) -> list[str]:
    links = re.findall(r"\]\(([^)\s]+)\)", _outside_code(text))
    return [link for link in links if not re.match(r"[a-z]+:", link)]


@pytest.mark.parametrize("doc", ["README.md", *GUIDES])
def test_every_relative_link_resolves(doc: str) -> None:
    """Each link to a file names one that exists; each #anchor names a heading of its file."""
    source = REPO / doc
    links = _relative_links(source.read_text())
    if doc == "README.md":
        assert len(links) > 10
    for link in links:
        path, _, anchor = link.partition("#")
        target = (source.parent / path).resolve() if path else source
        assert target.exists(), f"{doc}: link {link!r} names no file"
        assert target.is_relative_to(REPO), f"{doc}: link {link!r} leaves the repository"
        if anchor:
            assert target.suffix == ".md", f"{doc}: link {link!r}"
            assert anchor in _anchors(target.read_text()), f"{doc}: link {link!r} names no heading"


def test_readme_is_short_with_contents_and_links_its_guides() -> None:
    lines = README.splitlines()
    assert len(lines) <= 350, f"README.md has {len(lines)} lines; move long material to a guide"
    assert "## Contents" in lines[:20]
    links = set(_relative_links(README))
    for guide in GUIDES:
        assert guide in links, f"README.md does not link {guide}"
        assert (REPO / guide).is_file(), guide
