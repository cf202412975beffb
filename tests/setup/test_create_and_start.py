"""tap-data365 setup against the emulator: create, start, idempotence, dry run, waiting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from data365_emulator import Emulator
from tap_data365.normalize import task_id, task_status
from tests.helpers.setup import (
    TASKS,
    config_file,
    creates,
    run_setup,
    server_tasks,
    writes,
)
from tests.helpers.tap import API_KEY, TOKEN

# In-process runs: TAP_DATA365_* variables of the developer's shell must not leak in.
pytestmark = pytest.mark.usefixtures("no_developer_env")


def test_fresh_account_creates_and_starts_every_task(emu: Emulator, tmp_path: Path) -> None:
    run = run_setup("--config", config_file(tmp_path, emu))

    assert run.exit_code == 0, run.stderr
    # One batch per source, each holding exactly that source's declared tasks.
    posts = [(r.path, r.body) for r in emu.requests if r.method == "POST"]
    assert [p for p, _ in posts] == [
        "/api/data-providers/data365/twitter_keywords",
        "/api/data-providers/data365/tiktok_hashtag",
    ]
    assert [len(body["tasks"]) for _, body in posts] == [2, 1]  # type: ignore[index]
    starts = [r.path for r in emu.requests if r.path.endswith("/start")]
    assert len(starts) == 3
    token_puts = [r for r in emu.requests if r.path == "/api/data-sources/data365"]
    assert len(token_puts) == 1
    assert token_puts[0].body == {"token": "***"}  # the emulator's log redacts it
    assert "created + started" in run.stdout
    ids = {task_id(t) for t in server_tasks(emu, "twitter_keywords")}
    assert len(ids) == 2
    assert all(i is not None and i in run.stdout for i in ids)


def test_second_run_creates_and_starts_nothing(emu: Emulator, tmp_path: Path) -> None:
    config = config_file(tmp_path, emu)
    first = run_setup("--config", config, "--json")
    first_count = len(emu.requests)
    emu.clear_requests()

    second = run_setup("--config", config, "--json")

    assert first.exit_code == second.exit_code == 0
    assert creates(emu) == []
    assert [w for w in writes(emu) if "/start" in w[1]] == []
    assert writes(emu) == [("PUT", "/api/data-sources/data365")]  # the idempotent token PUT
    assert [t["action"] for t in second.json["tasks"]] == ["kept"] * 3
    assert [t["id"] for t in second.json["tasks"]] == [t["id"] for t in first.json["tasks"]]
    assert second.json["requests"]["total"] == len(emu.requests) < first_count
    assert len(server_tasks(emu, "twitter_keywords")) == 2


@pytest.mark.parametrize("id_key", ["id", "task_id", "taskId", "TaskId"])
@pytest.mark.parametrize("wrapper", [None, "tasks", "data"])
def test_idempotent_whatever_the_task_shape(
    emu: Emulator, tmp_path: Path, id_key: str, wrapper: str | None
) -> None:
    emu.configure(task_id_key=id_key, tasks_wrapper=wrapper, status_case="upper")
    config = config_file(tmp_path, emu)
    assert run_setup("--config", config).exit_code == 0
    emu.clear_requests()

    again = run_setup("--config", config, "--json")

    assert again.exit_code == 0, again.stderr
    assert creates(emu) == []
    assert all(t["id"] and t["action"] == "kept" for t in again.json["tasks"])


def test_duplicates_on_the_server_are_reported_not_multiplied(
    emu: Emulator, tmp_path: Path
) -> None:
    declared = TASKS[1]
    copies = [
        emu.add_task(
            declared["source"],
            declared["value"],
            declared["from_date"],
            declared["to_date"],
            status="running",
        )
        for _ in range(3)
    ]
    run = run_setup("--config", config_file(tmp_path, emu), "--json")

    assert run.exit_code == 0, run.stderr
    row = run.json["tasks"][1]
    assert row["action"] == "kept"
    assert row["id"] == copies[0]
    assert row["duplicates"] == copies[1:]
    # Only the two tasks without a copy were created; the duplicated one was not.
    created = [t["value"] for body in creates(emu) for t in body["tasks"]]
    assert sorted(created) == ["covid-19", "hellokitty"]  # tiktok + the other twitter task
    assert len(server_tasks(emu, "twitter_keywords")) == 4  # 3 copies + covid-19

    text = run_setup("--config", config_file(tmp_path, emu))
    assert "duplicate(s)" in text.stdout
    assert all(c in text.stdout for c in copies[1:])


def test_same_value_with_other_interval_or_parameters_is_another_task(
    emu: Emulator, tmp_path: Path
) -> None:
    emu.add_task("twitter_keywords", "covid-19", "2023-09-01", "2023-09-12", update_interval=600)
    emu.add_task(
        "tiktok_hashtag", "hellokitty", "2023-09-01", "2023-09-02", parameters={"max_posts": 10}
    )
    run = run_setup("--config", config_file(tmp_path, emu), "--json")

    assert [t["action"] for t in run.json["tasks"]] == ["created + started"] * 3


def test_existing_task_that_is_not_running_is_started_not_recreated(
    emu: Emulator, tmp_path: Path
) -> None:
    declared = TASKS[1]
    args = (declared["source"], declared["value"], declared["from_date"], declared["to_date"])
    created = emu.add_task(*args, status="created")
    canceled = emu.add_task(
        "tiktok_hashtag", "hellokitty", "2023-09-01", "2023-09-02",
        status="canceled", parameters={"max_posts": 300},
    )  # fmt: skip
    done = emu.add_task(
        "twitter_keywords", "covid-19", "2023-09-01", "2023-09-12",
        status="complete", update_interval=300,
    )  # fmt: skip
    run = run_setup("--config", config_file(tmp_path, emu), "--json")

    assert run.exit_code == 0, run.stderr
    actions = {t["id"]: t["action"] for t in run.json["tasks"]}
    assert actions == {done: "kept", created: "started", canceled: "started"}
    assert creates(emu) == []
    starts = sorted(r.path.split("/")[-2] for r in emu.requests if r.path.endswith("/start"))
    assert starts == sorted([created, canceled])


def test_no_start_creates_only(emu: Emulator, tmp_path: Path) -> None:
    run = run_setup("--config", config_file(tmp_path, emu), "--no-start", "--json")

    assert run.exit_code == 0
    assert [t["action"] for t in run.json["tasks"]] == ["created"] * 3
    assert not any(r.path.endswith("/start") for r in emu.requests)
    assert {task_status(t) for t in server_tasks(emu, "twitter_keywords")} == {"created"}


def test_dry_run_writes_nothing(emu: Emulator, tmp_path: Path) -> None:
    emu.add_task("twitter_keywords", "covid-19", "2023-09-01", "2023-09-12", update_interval=300)
    run = run_setup("--config", config_file(tmp_path, emu), "--dry-run", "--json")

    assert run.exit_code == 0, run.stderr
    assert writes(emu) == []
    assert {r.method for r in emu.requests} == {"GET"}
    assert run.json["token"] == "would register"
    assert [t["action"] for t in run.json["tasks"]] == [
        "would start",
        "would create + start",
        "would create + start",
    ]
    assert len(server_tasks(emu, "twitter_keywords")) == 1

    text = run_setup("--config", config_file(tmp_path, emu), "--dry-run")
    assert "(dry run)" in text.stdout
    assert "would create + start" in text.stdout


@pytest.mark.parametrize("finish_status", ["complete", "finished"])
def test_wait_until_done(emu: Emulator, tmp_path: Path, finish_status: str) -> None:
    emu.configure(finish_status=finish_status, polls_to_finish=3)
    run = run_setup(
        "--config", config_file(tmp_path, emu), "--wait", "--poll-interval", "0", "--json"
    )

    assert run.exit_code == 0, run.stderr
    assert {t["status"] for t in run.json["tasks"]} == {finish_status}
    assert run.json["wait"]["open"] == []
    assert run.json["wait"]["failed"] == []
    # Waiting reads each task's own status (the list lags), never the list again.
    polled = [r.path for r in emu.requests if r.method == "GET" and r.path.count("/") == 5]
    assert len(polled) >= 3 * 3
    assert "waiting" in run.stderr
    assert f"3 {finish_status}" in run.stderr


def test_wait_reports_a_failed_task(emu: Emulator, tmp_path: Path) -> None:
    tasks = [*TASKS, {**TASKS[1], "value": "this one will fail"}]
    run = run_setup(
        "--config", config_file(tmp_path, emu, tasks=tasks), "--wait", "--poll-interval", "0"
    )

    assert run.exit_code == 3
    assert 'tasks[3] (twitter_keywords "this one will fail") [failed]' in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("tap-data365 setup: error:")


def test_timeout_names_the_open_tasks(emu: Emulator, tmp_path: Path) -> None:
    emu.configure(polls_to_finish=1000)
    run = run_setup(
        "--config", config_file(tmp_path, emu), "--timeout", "0", "--poll-interval", "0", "--json"
    )

    assert run.exit_code == 4
    assert run.json["wait"]["timed_out"] is True
    assert len(run.json["wait"]["open"]) == 3
    assert "--timeout reached" in run.stderr
    assert 'tasks[2] (tiktok_hashtag "hellokitty")' in run.stderr


def test_config_from_env_and_merged_files(emu: Emulator, tmp_path: Path) -> None:
    """--config ENV reads TAP_DATA365_* (arrays as JSON); later --config wins."""
    env = {
        "TAP_DATA365_API_KEY": API_KEY,
        "TAP_DATA365_API_URL": emu.url,
        "TAP_DATA365_DATA365_TOKEN": TOKEN,
        "TAP_DATA365_TASKS": json.dumps(TASKS[:1]),
        "TAP_DATA365_MAX_RETRIES": "2",
    }
    run = run_setup("--config", "ENV", "--json", env=env)
    assert run.exit_code == 0, run.stderr
    assert [t["value"] for t in run.json["tasks"]] == ["covid-19"]

    override = tmp_path / "override.json"
    override.write_text(json.dumps({"tasks": TASKS[1:2]}), encoding="utf-8")
    merged = run_setup("--config", "ENV", "--config", str(override), "--json", env=env)
    assert [t["value"] for t in merged.json["tasks"]] == ["hellokitty"]


def test_no_tasks_declared_is_fine(emu: Emulator, tmp_path: Path) -> None:
    run = run_setup("--config", config_file(tmp_path, emu, tasks=[], data365_token=None))
    assert run.exit_code == 0
    assert "no tasks declared" in run.stdout
    assert emu.requests == []


def test_without_a_token_the_summary_says_why_none_was_registered(
    emu: Emulator, tmp_path: Path
) -> None:
    run = run_setup("--config", config_file(tmp_path, emu, data365_token=None))

    assert run.exit_code == 0, run.stderr
    assert "token not registered (setting data365_token is not set)" in run.stdout
    assert not [r for r in emu.requests if r.method == "PUT" and "data-sources" in r.path]
