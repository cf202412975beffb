"""Every rule on declared tasks and settings: exit 2, one line per problem, zero requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from data365_emulator import Emulator
from tests.helpers.emulator import start_emulator
from tests.helpers.setup import (
    SETUP_EMULATOR,
    TASKS,
    config_file,
    run_setup,
)
from tests.helpers.tap import API_KEY

# In-process runs: TAP_DATA365_* variables of the developer's shell must not leak in.
pytestmark = pytest.mark.usefixtures("no_developer_env")


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with start_emulator(**SETUP_EMULATOR) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def _clean(emu: Emulator) -> None:
    emu.clear_requests()


GOOD = {
    "source": "twitter_keywords",
    "value": "x",
    "from_date": "2023-09-01",
    "to_date": "2023-09-02",
}

RULES: dict[str, tuple[dict[str, Any], str]] = {
    "date-format": (
        {"from_date": "2023/09/01"},
        "from_date '2023/09/01' is not a date",
    ),
    "date-invalid": (
        {"to_date": "2023-02-30"},
        "to_date '2023-02-30' is not a date",
    ),
    "from-after-to": (
        {"from_date": "2023-09-03"},
        "from_date 2023-09-03 is after to_date",
    ),
    "unknown-source": (
        {"source": "myspace_profile"},
        "unknown source 'myspace_profile'",
    ),
    "empty-value": (
        {"value": "   "},
        "value is empty",
    ),
    "too-long": (
        {"value": "k" * 499},
        "499 characters; twitter_keywords allows at most 498",
    ),
    "profile-or": (
        {"source": "twitter_profile", "value": "cp24 OR cnn"},
        "operators (AND/OR)",
    ),
    "profile-and": (
        {"source": "twitter_profile", "value": "cp24 AND cnn"},
        "operators (AND/OR)",
    ),
    "interval-zero": (
        {"update_interval": 0},
        "update_interval must be a positive integer",
    ),
    "interval-str": (
        {"update_interval": "300"},
        "update_interval must be of type integer",
    ),
    "interval-float": (
        {"update_interval": 1.5},
        "update_interval must be of type integer",
    ),
    "parameters-list": (
        {"parameters": [1]},
        "parameters must be of type object",
    ),
    "value-null": (
        {"value": None},
        "value must be of type string",
    ),
    "unknown-field": (
        {"colour": "red"},
        "unknown field(s) colour",
    ),
}


@pytest.mark.parametrize(("change", "message"), list(RULES.values()), ids=list(RULES))
def test_each_rule_exits_2_before_any_request(
    emu: Emulator, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    task = {**GOOD, **change}
    run = run_setup("--config", config_file(tmp_path, emu, tasks=[TASKS[0], task]))

    assert run.exit_code == 2
    assert emu.requests == []
    source = task.get("source", "?")
    assert f"tasks[1] ({source} " in run.stderr
    assert message in run.stderr
    assert run.stdout == ""
    assert "Traceback" not in run.stderr


def test_missing_fields_are_named(emu: Emulator, tmp_path: Path) -> None:
    run = run_setup("--config", config_file(tmp_path, emu, tasks=[{"source": "tiktok_music"}]))
    assert run.exit_code == 2
    for name in ("value", "from_date", "to_date"):
        assert f"missing required field {name}" in run.stderr
    assert emu.requests == []


def test_every_problem_is_reported_at_once(emu: Emulator, tmp_path: Path) -> None:
    tasks = [
        {**GOOD, "value": ""},
        TASKS[0],
        {**GOOD, "source": "twitter_profile", "value": "a OR b", "update_interval": -5},
        "not an object",
        dict(TASKS[0]),  # the same task declared twice
    ]
    run = run_setup("--config", config_file(tmp_path, emu, tasks=tasks))

    assert run.exit_code == 2
    problems = [ln for ln in run.stderr.splitlines() if "invalid task" in ln]
    assert len(problems) == 5
    assert "tasks[0]" in problems[0]
    assert "tasks[3]: must be an object" in run.stderr
    assert 'tasks[4] (twitter_keywords "covid-19"): declared twice (same task as tasks[1])' in (
        run.stderr
    )
    assert run.stderr.splitlines()[-1] == (
        "tap-data365 setup: error: 5 problem(s) in setting tasks; nothing was sent"
    )
    assert emu.requests == []


def test_dry_run_validates_too(emu: Emulator, tmp_path: Path) -> None:
    run = run_setup(
        "--config", config_file(tmp_path, emu, tasks=[{**GOOD, "value": ""}]), "--dry-run"
    )
    assert run.exit_code == 2
    assert emu.requests == []


BAD_SETTINGS = [
    pytest.param({"api_key": ""}, "setting api_key is required", id="missing-key"),
    pytest.param(
        {"api_url": "http://api.example.com"},
        "setting api_url uses plain http://",
        id="remote-http",
    ),
    pytest.param({"max_retries": "many"}, "setting max_retries must be an integer", id="retries"),
    pytest.param({"tasks": {"source": "x"}}, "setting tasks must be a list", id="tasks-object"),
]


@pytest.mark.parametrize(("change", "message"), BAD_SETTINGS)
def test_bad_settings_exit_2_in_one_line(
    emu: Emulator, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    run = run_setup("--config", config_file(tmp_path, emu, **change))

    assert run.exit_code == 2
    assert emu.requests == []
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1
    assert message in lines[0]


def test_bad_env_values_name_the_variable_not_the_value(emu: Emulator) -> None:
    env = {"TAP_DATA365_API_KEY": API_KEY, "TAP_DATA365_API_URL": emu.url}
    bad_int = run_setup("--config", "ENV", env={**env, "TAP_DATA365_MAX_RETRIES": "lots"})
    assert bad_int.exit_code == 2
    assert "TAP_DATA365_MAX_RETRIES must be an integer" in bad_int.stderr
    assert "lots" not in bad_int.stderr

    bad_json = run_setup("--config", "ENV", env={**env, "TAP_DATA365_TASKS": "[{oops"})
    assert bad_json.exit_code == 2
    assert "TAP_DATA365_TASKS is not valid JSON" in bad_json.stderr

    no_key = run_setup("--config", "ENV", env={"TAP_DATA365_API_URL": emu.url})
    assert no_key.exit_code == 2
    assert "setting api_key is required" in no_key.stderr
    assert emu.requests == []


def test_config_file_problems(tmp_path: Path) -> None:
    missing = run_setup("--config", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2
    assert "cannot read config file" in missing.stderr

    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert "is not valid JSON" in run_setup("--config", str(broken)).stderr

    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([1]), encoding="utf-8")
    assert "must hold a JSON object" in run_setup("--config", str(listed)).stderr

    none = run_setup()
    assert none.exit_code == 2
    assert "--config is required" in none.stderr
