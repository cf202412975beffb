"""Shared harness of the setup-command tests (no tests here).

Runs ``tap-data365 setup`` in-process with click's CliRunner against a real emulator over
HTTP, and checks on every run that neither secret reaches stdout or stderr.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from data365_emulator import Emulator
from tap_data365.setup.command import setup
from tests.helpers.tap import API_KEY, TOKEN

#: The emulator of the setup tests: no task yet, and 429s retried at once.
SETUP_EMULATOR: dict[str, Any] = {"empty": True, "retry_after": 0}

TASKS: list[dict[str, Any]] = [
    {
        "source": "twitter_keywords",
        "value": "covid-19",
        "from_date": "2023-09-01",
        "to_date": "2023-09-12",
        "update_interval": 300,
    },
    {
        "source": "twitter_keywords",
        "value": "hellokitty",
        "from_date": "2023-09-01",
        "to_date": "2023-09-02",
    },
    {
        "source": "tiktok_hashtag",
        "value": "hellokitty",
        "from_date": "2023-09-01",
        "to_date": "2023-09-02",
        "parameters": {"max_posts": 300},
    },
]


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


def config_file(tmp_path: Path, emu: Emulator, **overrides: Any) -> str:
    config: dict[str, Any] = {
        "api_key": API_KEY,
        "api_url": emu.url,
        "data365_token": TOKEN,
        "tasks": TASKS,
        "max_retries": 3,
    }
    config.update(overrides)
    path = tmp_path / f"config-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return str(path)


def run_setup(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Run:
    result = CliRunner().invoke(setup, list(args), env=env, input=stdin, catch_exceptions=False)
    run = Run(result.exit_code, result.stdout, result.stderr)
    for secret in (API_KEY, TOKEN):
        assert secret not in run.stdout, "secret in stdout"
        assert secret not in run.stderr, "secret in stderr"
    return run


def writes(emu: Emulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in emu.requests if r.method != "GET"]


def creates(emu: Emulator) -> list[dict[str, Any]]:
    """Bodies of task-creation requests (POST to a source path, not cancel)."""
    return [
        r.body or {}
        for r in emu.requests
        if r.method == "POST" and r.path.count("/") == 4 and r.status < 400
    ]


def server_tasks(emu: Emulator, source: str) -> list[dict[str, Any]]:
    """The source's task list as the API serves it (read with plain requests)."""
    import requests  # noqa: PLC0415

    response = requests.get(
        f"{emu.url}/api/data-providers/data365/{source}", headers={"apikey": API_KEY}, timeout=10
    )
    response.raise_for_status()
    from tap_data365.normalize import task_list  # noqa: PLC0415

    return task_list(response.json())


def single_status(emu: Emulator, source: str, task: str) -> str:
    """A task's own status (the list's may lag), read with plain requests."""
    import requests  # noqa: PLC0415

    from tap_data365.normalize import task_object, task_status  # noqa: PLC0415

    response = requests.get(
        f"{emu.url}/api/data-providers/data365/{source}/{task}",
        headers={"apikey": API_KEY},
        timeout=10,
    )
    response.raise_for_status()
    return task_status(task_object(response.json()))
