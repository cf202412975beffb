"""README "Failure behaviour": every row is run here and exits with the code it states; the
further failures a row names are run too, each checked for the words its line must hold."""

from __future__ import annotations

import datetime as dt
import re
import signal
import subprocess
from collections.abc import Callable, Iterator
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
from tests.helpers.tap import API_KEY, REPO, TAP, clean_env, write_json

SOURCE = "tiktok_hashtag"
Case = Callable[[HostileServer, Path], "subprocess.CompletedProcess[str]"]


def table_rows() -> dict[str, tuple[str, int]]:
    """Case → (failure class, exit code), from the README table."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Failure behaviour", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"[a-z-]+", cells[0]) and cells[4].isdigit():
            rows[cells[0]] = (cells[1], int(cells[4]))
    return rows


def tap(server: HostileServer, tmp: Path, *args: str, **settings: Any) -> Any:
    config = write_json(
        tmp / "config.json", {"api_key": API_KEY, "api_url": server.url, **settings}
    )
    return subprocess.run(
        [*TAP, "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )


def signalled(signum: int) -> Case:
    def case(server: HostileServer, tmp: Path) -> subprocess.CompletedProcess[str]:
        server.route("POST", SEARCH_PATH, Reply(body=hits({"id": "a"}), drip=5.0))
        config = write_json(tmp / "config.json", {"api_key": API_KEY, "api_url": server.url})
        return interrupt_mid_search(server, config, signum)

    return case


def _routed(method: str, path: str, reply: Reply, **settings: Any) -> Case:
    def case(server: HostileServer, tmp: Path) -> subprocess.CompletedProcess[str]:
        server.route(method, path, reply)
        return tap(server, tmp, **settings)  # type: ignore[no-any-return]

    return case


def _state(server: HostileServer, tmp: Path) -> subprocess.CompletedProcess[str]:
    bad = {"bookmarks": {"search_results": {"replication_key_value": {"not": "a date"}}}}
    return tap(server, tmp, "--state", str(write_json(tmp / "state.json", bad)))  # type: ignore[no-any-return]


FUTURE = (dt.datetime.now(dt.UTC) + dt.timedelta(days=9)).strftime("%Y-%m-%dT00:00:00Z")
BUSY = {"Retry-After": "0"}
ODD_POSTS = hits({"doc_date": "2024-01-01T00:00:00Z"}, {"id": "x", "doc_date": "someday"})
CASES: dict[str, Case] = {
    "settings-invalid": lambda s, t: tap(s, t, page_size="ten"),
    "settings-doubtful": lambda s, t: tap(s, t, pagesize=10, start_date=FUTURE),
    "state-invalid": _state,
    "network-mistake": lambda s, t: tap(s, t, api_url="http://127.0.0.1:9"),
    "network-unreachable": _routed(
        "GET", SOURCES_PATH, Reply(body=[SOURCE] * 20, drip=1.0), request_timeout=1, max_retries=1
    ),
    "network-redirect": _routed(
        "GET", SOURCES_PATH, Reply(301, headers={"Location": "https://x.example/"})
    ),
    "api-rejected-key": _routed("GET", SOURCES_PATH, Reply(401, {"message": "no"})),
    "api-retry-after-too-long": _routed(
        "GET", SOURCES_PATH, Reply(429, headers={"Retry-After": "86400"})
    ),
    "api-error": _routed("GET", SOURCES_PATH, Reply(500, b"<html>", BUSY), max_retries=1),
    "api-no-sources": _routed("GET", SOURCES_PATH, Reply(body=[])),
    "api-odd-posts": _routed("POST", SEARCH_PATH, Reply(body=ODD_POSTS)),
    "signal-term": signalled(signal.SIGTERM),
    "signal-int": signalled(signal.SIGINT),
}


HTML_PAGE = b"<html><head><title>502</title></head><body><h1>502 Bad Gateway</h1></body></html>"
#: Further failures a row names: (row, case, words its one line must hold).
VARIANTS: dict[str, tuple[str, Case, tuple[str, ...]]] = {
    "body-cut-off": (
        "network-unreachable",
        _routed("GET", SOURCES_PATH, Reply(body=[SOURCE] * 9, cut_after=3), max_retries=1),
        ("127.0.0.1:", "body was cut off after the headers: 3 of", "(after 2 attempt(s))"),
    ),
    "html-page": (
        "api-error",
        _routed("GET", SOURCES_PATH, Reply(502, HTML_PAGE, BUSY), max_retries=1),
        ("HTTP 502", "sources (after 2 attempt(s)): 502 Bad Gateway"),
    ),
    "empty-body": ("api-error", _routed("POST", SEARCH_PATH, Reply()), ("got an empty body",)),
    "null-body": ("api-error", _routed("POST", SEARCH_PATH, Reply(body=b"null")), ("got null",)),
    "results-of-the-wrong-kind": (
        "api-error",
        _routed("POST", SEARCH_PATH, Reply(body={"results": "x"})),
        ("results is a string, expected a list of posts",),
    ),
    "not-utf8": (
        "api-error",
        _routed("GET", SOURCES_PATH, Reply(body=b'["\xff"]')),
        ("HTTP 200 with a body that is not valid UTF-8 at byte 2",),
    ),
    "implausible-doc-date": (
        "api-odd-posts",
        _routed("POST", SEARCH_PATH, Reply(body=hits({"id": "x", "doc_date": 12}))),
        ("1 post(s)", "numeric doc_date that is no plausible date", "doc_date_raw"),
    ),
}


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        hostile.serve_sources(SOURCE)
        hostile.route("POST", SEARCH_PATH, Reply(body=hits()))
        yield hostile


def test_every_row_has_a_case() -> None:
    assert sorted(table_rows()) == sorted(CASES)
    classes = {failure_class for failure_class, _ in table_rows().values()}
    assert classes == {"settings", "state", "network", "server answers", "signals"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_row_holds(server: HostileServer, tmp_path: Path, name: str) -> None:
    _, code = table_rows()[name]
    done = CASES[name](server, tmp_path)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert API_KEY not in done.stderr + done.stdout
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == (1 if code in {1, 2} else 0), done.stderr
    if code == 0:
        assert any("warning" in line.lower() for line in done.stderr.splitlines())


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_row_holds_for_each_failure_it_names(
    server: HostileServer, tmp_path: Path, name: str
) -> None:
    row, case, words = VARIANTS[name]
    done = case(server, tmp_path)
    assert done.returncode == table_rows()[row][1], done.stderr
    assert "Traceback" not in done.stderr
    kind = "error:" if done.returncode else "warning"
    lines = [line for line in done.stderr.splitlines() if kind in line.lower()]
    assert len(lines) == 1, done.stderr
    assert all(word in lines[0] for word in words), lines[0]
    assert not re.search(r"<|NoneType|no answer", lines[0]), lines[0]
