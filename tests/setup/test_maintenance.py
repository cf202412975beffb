"""setup status / cancel / remove [--prune]: against the emulator, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from data365_emulator import Emulator
from tap_data365.normalize import task_id
from tests.helpers.setup import (
    TASKS,
    config_file,
    run_setup,
    server_tasks,
    single_status,
    writes,
)

# In-process runs: TAP_DATA365_* variables of the developer's shell must not leak in.
pytestmark = pytest.mark.usefixtures("no_developer_env")


@pytest.fixture
def config(emu: Emulator, tmp_path: Path) -> str:
    """A configured account: the declared tasks created, one stray task, one duplicate."""
    path = config_file(tmp_path, emu)
    assert run_setup("--config", path).exit_code == 0
    emu.add_task("instagram_profile", "spacex", "2024-01-01", "2024-01-31", status="complete")
    emu.add_task("twitter_keywords", "hellokitty", "2023-09-01", "2023-09-02")  # a 2nd copy
    emu.clear_requests()
    return path


def test_status_shows_every_task_and_its_declaration(emu: Emulator, config: str) -> None:
    run = run_setup("status", "--config", config, "--json")

    assert run.exit_code == 0, run.stderr
    declared = sorted(r["declared"] for r in run.json)
    assert declared[:3] == ["duplicate of " + _id_of(emu, TASKS[1]), "no", "tasks[0]"]
    assert len(run.json) == 5
    assert writes(emu) == []

    text = run_setup("status", "--config", config, "--source", "instagram_profile")
    assert "spacex" in text.stdout
    assert "hellokitty" not in text.stdout
    assert "1 task(s) on the server" in text.stdout


def test_status_fresh_reads_each_task(emu: Emulator, config: str) -> None:
    run = run_setup("--config", config, "status", "--source", "tiktok_hashtag", "--fresh")
    assert run.exit_code == 0, run.stderr
    single = [r for r in emu.requests if r.path.count("/") == 5]
    assert len(single) == 1


def test_cancel_one_and_all(emu: Emulator, config: str) -> None:
    target = _id_of(emu, TASKS[0])
    one = run_setup("cancel", "--config", config, "--source", "twitter_keywords", "--id", target)
    assert one.exit_code == 0, one.stderr
    assert f"canceled task {target} of twitter_keywords" in one.stdout
    assert writes(emu) == [
        ("POST", f"/api/data-providers/data365/twitter_keywords/{target}/cancel")
    ]

    every = run_setup("cancel", "--config", config, "--source", "tiktok_hashtag", "--all")
    assert every.exit_code == 0
    only = task_id(server_tasks(emu, "tiktok_hashtag")[0])
    assert only is not None
    assert single_status(emu, "tiktok_hashtag", only) == "canceled"

    # A canceled declared task is started again by the next setup run, not recreated.
    again = run_setup("--config", config, "--json")
    assert again.exit_code == 0
    actions = [t["action"] for t in again.json["tasks"]]
    assert actions == ["started", "kept", "started"]


def test_cancel_and_remove_usage_errors(config: str) -> None:
    assert run_setup("cancel", "--config", config, "--source", "tiktok_hashtag").exit_code == 2
    both = run_setup("remove", "--config", config, "--prune", "--id", "x", "--source", "a")
    assert both.exit_code == 2
    assert run_setup("remove", "--config", config, "--id", "x").exit_code == 2


def test_remove_one(emu: Emulator, config: str) -> None:
    target = _id_of(emu, TASKS[2])
    run = run_setup("remove", "--config", config, "--source", "tiktok_hashtag", "--id", target)
    assert run.exit_code == 0
    assert server_tasks(emu, "tiktok_hashtag") == []

    missing = run_setup("remove", "--config", config, "--source", "tiktok_hashtag", "--id", target)
    assert missing.exit_code == 1
    assert f"task {target} of tiktok_hashtag does not exist (HTTP 404)" in missing.stderr


def test_prune_asks_first(emu: Emulator, config: str) -> None:
    declined = run_setup("remove", "--config", config, "--prune", stdin="n\n")
    assert declined.exit_code == 1
    assert "nothing removed" in declined.stdout
    assert writes(emu) == []

    pruned = run_setup("remove", "--config", config, "--prune", stdin="y\n")
    assert pruned.exit_code == 0, pruned.stderr
    assert "removed 2 task(s)" in pruned.stdout
    assert server_tasks(emu, "instagram_profile") == []
    assert len(server_tasks(emu, "twitter_keywords")) == 2  # the declared ones stay


def test_prune_yes_then_nothing_left(emu: Emulator, config: str) -> None:
    run = run_setup(
        "remove", "--config", config, "--prune", "--yes", "--source", "instagram_profile"
    )
    assert run.exit_code == 0
    assert "removed 1 task(s)" in run.stdout
    assert len(server_tasks(emu, "twitter_keywords")) == 3  # --source kept the duplicate

    again = run_setup(
        "remove", "--config", config, "--prune", "--yes", "--source", "instagram_profile"
    )
    assert "nothing to prune" in again.stdout


def _id_of(emu: Emulator, declared: dict[str, object]) -> str:
    """The id setup gave the declared task (the first of its copies)."""
    for task in server_tasks(emu, str(declared["source"])):
        if task["value"] == declared["value"]:
            found = task_id(task)
            assert found is not None
            return found
    raise AssertionError(declared)
