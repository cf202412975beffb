"""The tap against a hostile API server: leaks, lost posts, hangs, misleading lines."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.hostile import (
    SEARCH_PATH,
    SOURCES_PATH,
    HostileServer,
    Reply,
    hits,
    interrupt_mid_search,
)
from tests.helpers.tap import API_KEY, TAP, SyncResult, clean_env, parse_messages, write_json

SOURCE = "tiktok_hashtag"


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        yield hostile


def run(
    tmp_path: Path, config: dict[str, Any], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The real executable, with a timeout that a hang turns into a test failure."""
    path = write_json(tmp_path / "config.json", config)
    return subprocess.run(
        [*TAP, "--config", str(path), *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=timeout,
        check=False,
    )


def settings(server: HostileServer, **extra: Any) -> dict[str, Any]:
    return {"api_key": API_KEY, "api_url": server.url, **extra}


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, stderr
    return errors[0]


def records(stdout: str) -> list[dict[str, Any]]:
    return parse_messages(stdout, SyncResult(0)).records.get("search_results", [])


# ---------------------------------------------------------------------------- leaks (item 2)


def test_a_key_with_a_trailing_newline_is_one_line_without_the_key(
    server: HostileServer, tmp_path: Path
) -> None:
    done = run(tmp_path, settings(server, api_key=API_KEY + "\n"))
    assert done.returncode == 2
    assert "setting api_key" in one_error_line(done.stderr)
    assert API_KEY not in done.stderr + done.stdout
    assert server.requests == []


def test_an_error_body_echoing_the_key_is_masked(server: HostileServer, tmp_path: Path) -> None:
    server.route(
        "GET", SOURCES_PATH, Reply(400, echo=lambda h: {"message": f"bad key {h['apikey']}"})
    )
    done = run(tmp_path, settings(server))
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "bad key ***" in line
    assert API_KEY not in done.stderr + done.stdout


# ---------------------------------------------------------------------------- redirect (item 11)


def test_a_redirect_names_its_status_and_target_host(server: HostileServer, tmp_path: Path) -> None:
    server.route(
        "GET", SOURCES_PATH, Reply(302, headers={"Location": "https://elsewhere.example:8443/x"})
    )
    done = run(tmp_path, settings(server))
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "HTTP 302" in line
    assert "elsewhere.example:8443" in line
    assert "not JSON" not in line


# ---------------------------------------------------------------------------- data (items 4, 5)


def _post(number: int, **fields: Any) -> dict[str, Any]:
    return {
        "doc_date": f"2024-03-0{number}T10:00:00Z",
        "content": {"body": f"post {number}"},
        **fields,
    }


def test_posts_without_an_id_are_all_delivered_with_stable_ids(
    server: HostileServer, tmp_path: Path
) -> None:
    server.serve_sources(SOURCE)
    documents = [
        _post(1, source={"link": "https://t.example/1"}),
        _post(2, source={"link": "https://t.example/2"}),
        _post(3, source={"link": "https://t.example/3"}),
        _post(4),
        _post(5),
    ]
    server.route("POST", SEARCH_PATH, Reply(body=hits(*documents)))
    first = run(tmp_path, settings(server))
    assert first.returncode == 0, first.stderr
    ids = [record["id"] for record in records(first.stdout)]
    assert len(ids) == 5
    assert len(set(ids)) == 5
    assert "link:https://t.example/1" in ids
    warnings = [line for line in first.stderr.splitlines() if "without an id" in line]
    assert len(warnings) == 1
    assert "5 post(s)" in warnings[0]
    again = run(tmp_path, settings(server))  # the same posts get the same ids
    assert sorted(record["id"] for record in records(again.stdout)) == sorted(ids)


def test_unreadable_doc_dates_are_delivered_with_the_raw_value(
    server: HostileServer, tmp_path: Path
) -> None:
    server.serve_sources(SOURCE)
    odd_dates = ["last tuesday", True, {"when": "soon"}]
    documents = [_post(1, id="good")] + [
        {**_post(2, id=f"odd-{n}"), "doc_date": value} for n, value in enumerate(odd_dates)
    ]
    server.route("POST", SEARCH_PATH, Reply(body=hits(*documents)))
    done = run(tmp_path, settings(server))
    assert done.returncode == 0, done.stderr
    delivered = {record["id"]: record for record in records(done.stdout)}
    assert set(delivered) == {"good", "odd-0", "odd-1", "odd-2"}
    for n, value in enumerate(odd_dates):
        record = delivered[f"odd-{n}"]
        assert record["doc_date"] is None
        assert record["extra_fields"]["doc_date_raw"] == value
    warnings = [line for line in done.stderr.splitlines() if "cannot be read" in line]
    assert len(warnings) == 1
    assert "3 post(s)" in warnings[0]
    assert "odd-0" in warnings[0]


def test_null_or_missing_doc_dates_get_the_same_warning(
    server: HostileServer, tmp_path: Path
) -> None:
    server.serve_sources(SOURCE)
    missing = _post(3, id="missing")
    del missing["doc_date"]  # and no content.published to fall back on
    documents = [_post(1, id="good"), {**_post(2, id="null"), "doc_date": None}, missing]
    server.route("POST", SEARCH_PATH, Reply(body=hits(*documents)))
    done = run(tmp_path, settings(server))
    assert done.returncode == 0, done.stderr
    delivered = {record["id"]: record for record in records(done.stdout)}
    assert set(delivered) == {"good", "null", "missing"}
    assert delivered["null"]["doc_date"] is None
    assert delivered["missing"]["doc_date"] is None
    warnings = [line for line in done.stderr.splitlines() if "cannot be read" in line]
    assert len(warnings) == 1
    assert "2 post(s)" in warnings[0]
    assert "missing, null or cannot be read" in warnings[0]


# ---------------------------------------------------------------------------- hangs (items 6, 7)


def test_a_retry_after_beyond_max_retry_wait_stops_at_once(
    server: HostileServer, tmp_path: Path
) -> None:
    server.route(
        "GET", SOURCES_PATH, Reply(429, {"message": "slow down"}, {"Retry-After": "100000"})
    )
    done = run(tmp_path, settings(server))
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "100000 s" in line
    assert "max_retry_wait" in line
    assert len(server.requests) == 1


def test_request_timeout_bounds_a_dripping_body(server: HostileServer, tmp_path: Path) -> None:
    server.route("GET", SOURCES_PATH, Reply(body=[SOURCE] * 20, drip=1.0))
    done = run(tmp_path, settings(server, request_timeout=2, max_retries=0))
    assert done.returncode == 1
    assert "Timeout" in one_error_line(done.stderr)


# ---------------------------------------------------------------------------- signals (item 8)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_sync_exits_non_zero_despite_a_stuck_request(
    server: HostileServer, tmp_path: Path, signum: int, code: int
) -> None:
    server.serve_sources(SOURCE)
    server.route("POST", SEARCH_PATH, Reply(body=hits(_post(1, id="a")), drip=5.0))
    config = write_json(tmp_path / "config.json", settings(server))
    proc = interrupt_mid_search(server, config, signum)
    stdout, stderr = proc.stdout, proc.stderr
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    assert f"interrupted by {signal.Signals(signum).name}" in stderr
    for line in stdout.splitlines():  # every message written is whole
        json.loads(line)


# ---------------------------------------------------------------------------- retry lines (item 12)


def test_one_line_per_retry_named_after_what_was_being_done(
    server: HostileServer, tmp_path: Path
) -> None:
    server.route("GET", SOURCES_PATH, Reply(body=[SOURCE]))
    busy = Reply(503, {"message": "busy"}, {"Retry-After": "0"})
    server.route("GET", f"{SOURCES_PATH}/{SOURCE}", busy, busy, Reply(body=[]))
    server.route("POST", SEARCH_PATH, Reply(body=hits()))
    done = run(tmp_path, settings(server))
    assert done.returncode == 0, done.stderr
    retries = [line for line in done.stderr.splitlines() if "etry" in line or "ack" in line]
    assert len(retries) == 2, done.stderr
    assert all(f"while listing tasks of source {SOURCE}" in line for line in retries)


def test_a_failure_listing_sources_is_not_blamed_on_a_stream(
    server: HostileServer, tmp_path: Path
) -> None:
    server.route("GET", SOURCES_PATH, Reply(503, {"message": "down"}, {"Retry-After": "0"}))
    done = run(tmp_path, settings(server, max_retries=1))
    assert done.returncode == 1
    assert "listing connected sources" in one_error_line(done.stderr)
    assert "unhandled error" not in done.stderr.lower()
    assert len([line for line in done.stderr.splitlines() if "retrying" in line.lower()]) == 1
