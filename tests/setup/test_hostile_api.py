"""``tap-data365 setup`` against a hostile API server: no redirect followed, no hang."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tap_data365.http.paths import TOKEN_PATH
from tests.helpers.hostile import SOURCES_PATH, HostileServer, Reply
from tests.helpers.tap import API_KEY, TAP, TOKEN, clean_env, write_json

TASK = {
    "source": "tiktok_hashtag",
    "value": "cats",
    "from_date": "2024-01-01",
    "to_date": "2024-01-02",
}


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        yield hostile


def setup(tmp_path: Path, server: HostileServer, **extra: Any) -> subprocess.CompletedProcess[str]:
    config = {"api_key": API_KEY, "api_url": server.url, "data365_token": TOKEN, "tasks": [TASK]}
    path = write_json(tmp_path / "config.json", {**config, **extra})
    done = subprocess.run(
        [*TAP, "setup", "--config", str(path)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert API_KEY not in done.stdout + done.stderr
    assert TOKEN not in done.stdout + done.stderr
    return done


@pytest.mark.parametrize("status", [302, 307, 308])
def test_setup_never_follows_a_redirect(server: HostileServer, tmp_path: Path, status: int) -> None:
    with HostileServer() as elsewhere:
        target = {"Location": f"{elsewhere.url}/steal"}
        for method, path in (("PUT", TOKEN_PATH), ("GET", SOURCES_PATH)):
            server.route(method, path, Reply(status, headers=target))
        done = setup(tmp_path, server)
        assert elsewhere.requests == []  # neither the apikey nor the token went there
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"HTTP {status}" in done.stderr
    assert elsewhere.url.removeprefix("http://") in done.stderr
    assert "registered" not in done.stdout


def test_setup_stops_at_once_on_a_huge_retry_after(server: HostileServer, tmp_path: Path) -> None:
    server.route("PUT", TOKEN_PATH, Reply(429, {"message": "later"}, {"Retry-After": "100000"}))
    done = setup(tmp_path, server)
    assert done.returncode == 1
    assert "100000 s" in done.stderr
    assert "max_retry_wait" in done.stderr
    assert len(server.requests) == 1


def test_setup_request_timeout_bounds_a_dripping_body(
    server: HostileServer, tmp_path: Path
) -> None:
    server.route("PUT", TOKEN_PATH, Reply(body={"status": "ok" * 40}, drip=1.0))
    done = setup(tmp_path, server, request_timeout=2, max_retries=0)
    assert done.returncode == 1
    assert "Timeout" in done.stderr
    assert "Traceback" not in done.stderr


def test_setup_says_when_it_waits_to_retry(server: HostileServer, tmp_path: Path) -> None:
    later = Reply(429, {"message": "later"}, {"Retry-After": "0"})
    server.route("PUT", TOKEN_PATH, later, Reply(400, {"message": "no"}))
    done = setup(tmp_path, server)
    assert done.returncode == 1
    retries = [line for line in done.stderr.splitlines() if "retrying" in line]
    assert len(retries) == 1, done.stderr
    assert "HTTP 429 while registering the Data365 token" in retries[0]
