"""Bad settings fail in one clear line naming the setting, before any request; secrets stay in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from data365_emulator import Emulator
from tap_data365.normalize import KNOWN_SOURCES
from tests.helpers.emulator import start_emulator
from tests.helpers.hostile import SEARCH_PATH, SOURCES_PATH, HostileServer, Reply, hits
from tests.helpers.tap import API_KEY, clean_env, run_tap


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator(seed_posts={"tiktok_hashtag": 250}) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _clean_log(emulator: Emulator) -> None:
    emulator.clear_requests()


BAD_SETTINGS = [
    pytest.param({"api_key": ""}, "api_key", id="missing-key"),
    pytest.param({"api_url": "http://api.example.com"}, "api_url", id="plain-http-remote"),
    pytest.param({"api_url": "not a url"}, "api_url", id="not-a-url"),
    pytest.param({"start_date": "last tuesday"}, "start_date", id="start-date-not-a-date"),
    pytest.param({"sources": ["twitter_keywords", "myspace_wall"]}, "sources", id="unknown-source"),
    pytest.param({"page_size": 101}, "page_size", id="page-size-too-big"),
    pytest.param({"page_size": 0}, "page_size", id="page-size-zero"),
    pytest.param({"max_concurrency": 0}, "max_concurrency", id="concurrency-zero"),
    pytest.param({"search_query": "  "}, "search_query", id="empty-query"),
    pytest.param({"tasks": [{"source": "twitter_keywords"}]}, "tasks[0]", id="task-shape"),
    pytest.param({"request_timeout": "slow"}, "request_timeout", id="timeout-not-a-number"),
    pytest.param({"max_requests_per_second": 0}, "max_requests_per_second", id="rate-zero"),
    pytest.param({"request_timeout": 2.5}, "request_timeout", id="timeout-not-whole"),
]


@pytest.mark.parametrize(("change", "setting"), BAD_SETTINGS)
def test_bad_setting_is_one_clear_line_and_no_request(
    emulator: Emulator, tmp_path: Path, change: dict[str, Any], setting: str
) -> None:
    config = {"api_key": API_KEY, "api_url": emulator.url, **change}
    result = run_tap(tmp_path, config)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, result.stderr
    assert f"setting {setting}" in errors[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert emulator.requests == []


def test_missing_api_key_entirely(emulator: Emulator, tmp_path: Path) -> None:
    result = run_tap(tmp_path, {"api_url": emulator.url})
    assert result.returncode != 0
    assert "setting api_key is required" in result.stderr
    assert "Traceback" not in result.stderr
    assert emulator.requests == []


def test_rejected_key_says_so_without_the_key(emulator: Emulator, tmp_path: Path) -> None:
    result = run_tap(tmp_path, {"api_key": "wrong-key-93jd", "api_url": emulator.url})
    assert result.returncode != 0
    assert "rejected the api_key" in result.stderr
    assert "wrong-key-93jd" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    assert len(emulator.requests) == 1  # 401 is not retried


def test_unconnected_source_is_named(emulator: Emulator, tmp_path: Path) -> None:
    emulator.configure(connected_sources=["tiktok_hashtag"])
    try:
        result = run_tap(
            tmp_path,
            {"api_key": API_KEY, "api_url": emulator.url, "sources": ["instagram_location"]},
        )
    finally:
        emulator.configure(connected_sources=list(KNOWN_SOURCES))
    assert result.returncode != 0
    assert "'instagram_location' is not connected" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_configured_source_the_account_lacks_stops_even_when_the_api_answers_for_it(
    tmp_path: Path,
) -> None:
    """An API that answers 200 (an empty task list, no hits) for a sub-source the account does
    not have: the sync must not pass over it silently."""
    with HostileServer() as server:
        server.serve_sources("tiktok_hashtag")
        server.route("GET", f"{SOURCES_PATH}/twitter_keywords", Reply(body=[]))
        server.route("POST", SEARCH_PATH, Reply(body=hits()))
        config = {"api_key": API_KEY, "api_url": server.url}
        result = run_tap(tmp_path, {**config, "sources": ["twitter_keywords", "tiktok_hashtag"]})
        searched = [r for r in server.requests if r.method == "POST"]
    assert result.returncode == 2, result.stderr
    (error,) = [line for line in result.stderr.splitlines() if "error:" in line]
    assert "'twitter_keywords' is not connected" in error
    assert "connected: tiktok_hashtag" in error
    assert searched == []  # nothing read before the mistake is named
    assert '"type":"RECORD"' not in result.stdout


def test_a_sync_logs_one_line_per_sub_source_with_posts_and_none_for_empty_ones(
    emulator: Emulator, tmp_path: Path
) -> None:
    result = run_tap(tmp_path, {"api_key": API_KEY, "api_url": emulator.url})
    assert result.returncode == 0, result.stderr
    info = [line for line in result.stderr.splitlines() if "| INFO" in line]
    assert not [line for line in info if "Skipping parse of env var settings" in line]
    assert not [line for line in info if "with bookmark value" in line]
    per_source = [line for line in info if "post(s) emitted" in line]
    assert len(per_source) == 1, info  # the module's emulator has posts in tiktok_hashtag only
    assert "data365_tiktok_hashtag: 250 post(s) emitted" in per_source[0]
    debug = run_tap(
        tmp_path,
        {"api_key": API_KEY, "api_url": emulator.url, "start_date": "2030-01-01T00:00:00Z"},
        env=clean_env(TAP_DATA365_LOGLEVEL="DEBUG", LOGLEVEL="DEBUG"),
    )
    assert "with bookmark value" in debug.stderr  # still there for whoever asks for DEBUG


def test_secrets_never_leave_the_process_even_at_debug_level(
    emulator: Emulator, tmp_path: Path
) -> None:
    token = "d365-secret-token-0xq"
    config = {
        "api_key": API_KEY,
        "api_url": emulator.url,
        "sources": ["tiktok_hashtag"],
        "data365_token": token,
    }
    env = clean_env(TAP_DATA365_LOGLEVEL="DEBUG", LOGLEVEL="DEBUG")
    result = run_tap(tmp_path, config, env=env)
    assert result.returncode == 0, result.stderr
    assert "| DEBUG" in result.stderr  # debug logging really was on
    assert result.records["search_results"]
    for text in (result.stdout, result.stderr):
        assert API_KEY not in text
        assert token not in text


def test_retries_exhausted_is_one_line(emulator: Emulator, tmp_path: Path) -> None:
    emulator.configure(fail_next=["503"] * 3)
    # No sources setting: the sources list is then the only first request (a configured
    # sub-source's task list would go out with it and take some of the 503s).
    result = run_tap(tmp_path, {"api_key": API_KEY, "api_url": emulator.url, "max_retries": 2})
    emulator.configure(fail_next=[])
    assert result.returncode != 0
    assert "HTTP 503" in result.stderr
    assert "Traceback" not in result.stderr
    assert [r.status for r in emulator.requests] == [503, 503, 503]


def test_sdk_builtin_setting_errors_exit_non_zero(emulator: Emulator, tmp_path: Path) -> None:
    config = {"api_key": API_KEY, "api_url": emulator.url, "flattening_max_depth": "deep"}
    result = run_tap(tmp_path, config)
    assert result.returncode != 0
    assert "flattening_max_depth" in result.stderr
    assert "Traceback" not in result.stderr
    assert emulator.requests == []
