"""A mistake fails fast, weather is waited out (http/transport.py, for the tap and setup alike).

Before the API has answered once in a run, a refused connection or an unknown host is a
wrong api_url: one line at once, naming host:port and the cause, no retry. Once it has
answered, the same failure is weather: the full backoff applies. A timeout says which
timeout and how many attempts, and a request is tried at most TIMEOUT_ATTEMPTS times.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tap_data365.errors import ApiResponseError
from tap_data365.http.transport import TIMEOUT_ATTEMPTS, Transport
from tap_data365.settings import ApiSettings
from tests.helpers.emulator import start_emulator
from tests.helpers.hostile import SEARCH_PATH, SOURCES_PATH, HostileServer, Reply, hits
from tests.helpers.tap import API_KEY, TAP, clean_env, write_json


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def run(tmp_path: Path, *args: str, **settings: object) -> subprocess.CompletedProcess[str]:
    """``tap-data365 ARGS`` with a settings file; ``{config}`` in ARGS is its path."""
    config = write_json(tmp_path / "config.json", {"api_key": API_KEY, **settings})
    return subprocess.run(
        [*TAP, *(arg.format(config=config) for arg in args)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
        check=False,
    )


def error_line(stderr: str) -> str:
    (line,) = [line for line in stderr.splitlines() if "error:" in line]
    assert "Traceback" not in stderr
    return line


@pytest.mark.parametrize(
    "args",
    [["--config", "{config}"], ["setup", "--config", "{config}", "status"]],
    ids=["tap", "setup"],
)
def test_a_refused_connection_before_any_answer_is_one_line_and_no_retry(
    tmp_path: Path, closed_port: int, args: list[str]
) -> None:
    done = run(tmp_path, *args, api_url=f"http://127.0.0.1:{closed_port}")
    assert done.returncode == 1, done.stderr
    line = error_line(done.stderr)
    assert f"127.0.0.1:{closed_port}" in line
    assert "connection refused" in line
    assert "check api_url" in line
    assert "retrying" not in done.stderr.lower()  # the default max_retries (8) not spent


def test_an_unknown_host_before_any_answer_is_one_line_and_no_retry(tmp_path: Path) -> None:
    done = run(tmp_path, "--config", "{config}", api_url="https://tap-data365-test.invalid")
    assert done.returncode == 1, done.stderr
    line = error_line(done.stderr)
    assert "tap-data365-test.invalid:443" in line
    assert "unknown host" in line
    assert "retrying" not in done.stderr.lower()


@pytest.fixture
def answered_then_gone() -> Iterator[Transport]:
    """A transport whose API answered once, then went away (its port now refuses)."""
    with start_emulator(empty=True) as emu:
        settings = ApiSettings(emu.url, API_KEY, timeout=10, max_retries=3)
        retries: list[str] = []
        transport = Transport(settings, sleep=lambda _: None, on_retry=retries.append)
        transport.request("GET", SOURCES_PATH, "listing sources")
    transport.retries = retries  # type: ignore[attr-defined]
    yield transport
    transport.close()


def test_once_the_api_has_answered_a_refused_connection_gets_the_full_backoff(
    answered_then_gone: Transport,
) -> None:
    transport = answered_then_gone
    assert transport.answered
    with pytest.raises(ApiResponseError) as caught:
        transport.request("GET", SOURCES_PATH, "listing sources again")
    retries: list[str] = transport.retries  # type: ignore[attr-defined]
    assert len(retries) == 3  # max_retries, each a line naming what was being done
    assert all("while listing sources again" in line for line in retries)
    message = str(caught.value)
    assert "connection refused (after 4 attempt(s))" in message
    assert transport.settings.url.removeprefix("http://") in message


def test_a_timeout_names_request_timeout_and_the_attempts_and_stops_after_three(
    tmp_path: Path,
) -> None:
    with HostileServer() as server:
        server.route("GET", SOURCES_PATH, Reply(body=["tiktok_hashtag"] * 20, drip=1.0))
        server.route("POST", SEARCH_PATH, Reply(body=hits()))
        done = run(
            tmp_path, "--config", "{config}", api_url=server.url, request_timeout=1, max_retries=8
        )
        attempts = [r for r in server.requests if r.path == SOURCES_PATH]
    assert done.returncode == 1, done.stderr
    line = error_line(done.stderr)
    assert "did not answer within request_timeout 1 s" in line
    assert f"{TIMEOUT_ATTEMPTS} attempt(s)" in line
    assert server.url.removeprefix("http://") in line
    assert len(attempts) == TIMEOUT_ATTEMPTS  # not max_retries + 1 = 9
