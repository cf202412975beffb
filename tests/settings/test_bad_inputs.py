"""Bad settings files, environment variables and state files: one line, exit 2, no traceback."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.hostile import SOURCES_PATH, HostileServer, Reply
from tests.helpers.tap import API_KEY, TAP, clean_env, write_json


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        hostile.serve_sources("tiktok_hashtag")
        yield hostile


def tap(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TAP, *args],
        capture_output=True,
        text=True,
        env=env or clean_env(),
        timeout=60,
        check=False,
    )


def assert_one_line(
    done: subprocess.CompletedProcess[str], *expected: str, nothing_sent: bool = True
) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    assert len(errors) == 1, done.stderr
    for text in expected:
        assert text in errors[0], errors[0]
    assert API_KEY not in done.stderr
    if nothing_sent:
        assert done.stdout == ""


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    assert_one_line(tap("--config", str(tmp_path / "nope.json")), "nope.json", "cannot read")


def test_a_config_file_that_is_not_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"api_key": ', encoding="utf-8")
    assert_one_line(tap("--config", str(path)), "broken.json", "not valid JSON")


def test_a_config_file_that_is_not_an_object_is_named(tmp_path: Path) -> None:
    path = write_json(tmp_path / "list.json", [API_KEY])
    assert_one_line(tap("--config", str(path)), "list.json", "JSON object")


def test_a_bad_number_in_the_environment_names_the_variable(server: HostileServer) -> None:
    env = clean_env(
        TAP_DATA365_API_KEY=API_KEY, TAP_DATA365_API_URL=server.url, TAP_DATA365_PAGE_SIZE="abc"
    )
    assert_one_line(tap("--config", "ENV", env=env), "TAP_DATA365_PAGE_SIZE", "integer")


def _bookmark(**partition: Any) -> dict[str, Any]:
    context = {"data_source": "data365_tiktok_hashtag"}
    return {"bookmarks": {"search_results": {"partitions": [{"context": context, **partition}]}}}


BAD_STATES = [
    pytest.param("{not json", "not valid JSON", id="not-json"),
    pytest.param([1, 2], "must hold a JSON object", id="not-an-object"),
    pytest.param({"bookmarks": []}, "bookmarks must be an object", id="bookmarks-list"),
    pytest.param(
        _bookmark(replication_key_value=12), "replication_key_value", id="bookmark-number"
    ),
    pytest.param(
        _bookmark(replication_key_value="yesterday-ish"),
        "replication_key_value",
        id="bookmark-unreadable",
    ),
    pytest.param(_bookmark(catchup="2024"), "catchup", id="catchup-string"),
    pytest.param(_bookmark(catchup=[["2024-01-01", "soon"]]), "catchup", id="catchup-date"),
    pytest.param(_bookmark(tasks_seen=["t1"]), "tasks_seen", id="tasks-seen-list"),
    pytest.param(_bookmark(found_mark="whenever"), "found_mark", id="found-mark-unreadable"),
    pytest.param(_bookmark(seen={"ab12": "2024"}), "seen", id="seen-not-pairs"),
    pytest.param(_bookmark(zone={"a": 1}), "zone", id="zone-not-groups"),
    pytest.param(_bookmark(zone=[[0, 0, "not base64!"]]), "zone", id="zone-not-base64"),
    pytest.param(
        _bookmark(catchup_found_from=17), "catchup_found_from", id="catchup-found-from-number"
    ),
    pytest.param(_bookmark(index_delay=[600]), "index_delay", id="index-delay-list"),
    pytest.param(_bookmark(index_delay={"seconds": -5}), "index_delay", id="index-delay-negative"),
    pytest.param(
        _bookmark(index_delay={"reference": "soon"}), "index_delay", id="index-delay-date"
    ),
]


@pytest.mark.parametrize(("state", "expected"), BAD_STATES)
def test_a_bad_state_file_is_one_line_naming_the_key(
    server: HostileServer, tmp_path: Path, state: Any, expected: str
) -> None:
    config = write_json(tmp_path / "config.json", {"api_key": API_KEY, "api_url": server.url})
    state_path = tmp_path / "state.json"
    if isinstance(state, str):
        state_path.write_text(state, encoding="utf-8")
    else:
        write_json(state_path, state)
    assert_one_line(tap("--config", str(config), "--state", str(state_path)), "state", expected)
    assert server.requests == []


def test_an_account_without_connected_sources_is_one_line(
    server: HostileServer, tmp_path: Path
) -> None:
    server.route("GET", SOURCES_PATH, Reply(body=[]))
    config = write_json(tmp_path / "config.json", {"api_key": API_KEY, "api_url": server.url})
    done = tap("--config", str(config))
    assert_one_line(done, "no Data365 sub-source is connected", nothing_sent=False)
    assert '"RECORD"' not in done.stdout


# ---------------------------------------------------------------------------- item 10


def test_a_misspelt_setting_is_named_with_the_closest_one(
    server: HostileServer, tmp_path: Path
) -> None:
    config = {"api_key": API_KEY, "api_url": server.url, "pagesize": 10}
    done = tap("--config", str(write_json(tmp_path / "config.json", config)), "--discover")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "pagesize" in line]
    assert len(warnings) == 1
    assert "did you mean page_size" in warnings[0]


def test_a_future_start_date_is_warned_about(server: HostileServer, tmp_path: Path) -> None:
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).strftime("%Y-%m-%dT00:00:00Z")
    config = {"api_key": API_KEY, "api_url": server.url, "start_date": future}
    done = tap("--config", str(write_json(tmp_path / "config.json", config)), "--discover")
    assert done.returncode == 0, done.stderr
    assert "start_date" in done.stderr
    assert "in the future" in done.stderr


def test_a_key_that_is_not_a_string_says_so(server: HostileServer, tmp_path: Path) -> None:
    config = {"api_key": 12345, "api_url": server.url}
    done = tap("--config", str(write_json(tmp_path / "config.json", config)))
    assert_one_line(done, "setting api_key must be a string")
    assert server.requests == []
