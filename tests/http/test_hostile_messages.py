"""The lines a broken API leaves the user with (issue 23, item 4): each is one clear line
that says what came, in the words of the answer, never its markup or a Python type name."""

from __future__ import annotations

import datetime as dt
import re
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
    one_error_line,
    run_against,
)
from tests.helpers.tap import API_KEY, SyncResult, parse_messages

SOURCE = "tiktok_hashtag"
BUSY = {"Retry-After": "0"}
#: A proxy's error page, as nginx sends it, with a script and a style that are not text.
BAD_GATEWAY = (
    b"<html>\n<head><title>502 Bad Gateway</title><style>body { color: red }</style></head>\n"
    b"<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx/1.25.3</center>\n"
    b"<script>var secret = 'not text';</script>\n</body>\n</html>\n"
)


@pytest.fixture
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        hostile.serve_sources(SOURCE)
        hostile.route("POST", SEARCH_PATH, Reply(body=hits()))
        yield hostile


def error_after(server: HostileServer, tmp_path: Path, **settings: Any) -> str:
    done = run_against(server, tmp_path, **settings)
    assert done.returncode == 1, done.stderr
    assert API_KEY not in done.stderr + done.stdout
    return one_error_line(done.stderr)


def test_an_html_error_page_is_quoted_as_its_text(server: HostileServer, tmp_path: Path) -> None:
    server.route("GET", SOURCES_PATH, Reply(502, BAD_GATEWAY, BUSY))
    line = error_after(server, tmp_path, max_retries=2)
    assert line.endswith(
        "HTTP 502 from the Datastreamer API while listing connected sources "
        "(after 3 attempt(s)): 502 Bad Gateway nginx/1.25.3"
    ), line
    assert "<" not in line
    assert "color" not in line
    assert "not text" not in line
    assert len(server.requests) == 3


def test_a_long_page_is_one_bounded_line(server: HostileServer, tmp_path: Path) -> None:
    words = " \n\t ".join(f"word{n}" for n in range(2000))
    page = f"<html><body><p>Service   unavailable</p><div>{words}</div></body></html>"
    server.route("GET", SOURCES_PATH, Reply(503, page.encode(), BUSY))
    line = error_after(server, tmp_path, max_retries=0)
    quoted = line.split("(after 1 attempt(s)): ", 1)[1]
    assert quoted.startswith("Service unavailable word0 word1 word2 ")
    assert quoted.endswith("…")
    assert len(quoted) <= 201
    assert "  " not in line


def test_a_page_with_only_a_title_is_quoted_by_its_title(
    server: HostileServer, tmp_path: Path
) -> None:
    server.route("GET", SOURCES_PATH, Reply(500, b"<html><title>Down for maintenance</title>"))
    line = error_after(server, tmp_path, max_retries=0)
    assert line.endswith("(after 1 attempt(s)): Down for maintenance"), line


def test_a_json_error_after_repeated_5xx_names_the_attempts(
    server: HostileServer, tmp_path: Path
) -> None:
    server.route("GET", SOURCES_PATH, Reply(500, {"message": "boom"}, BUSY))
    line = error_after(server, tmp_path, max_retries=3)
    assert "listing connected sources (after 4 attempt(s)): boom" in line
    assert len(server.requests) == 4


def test_a_status_not_retried_names_no_attempts(server: HostileServer, tmp_path: Path) -> None:
    server.route("GET", SOURCES_PATH, Reply(400, {"error": {"reason": "bad query"}}))
    line = error_after(server, tmp_path)
    assert line.endswith('HTTP 400 from the Datastreamer API while listing connected sources: '
                         '{"reason":"bad query"}'), line  # fmt: skip


@pytest.mark.parametrize("body", [b"", b"  \n", b"null"])
def test_an_empty_or_null_error_body_is_named(
    server: HostileServer, tmp_path: Path, body: bytes
) -> None:
    server.route("GET", SOURCES_PATH, Reply(500, body))
    line = error_after(server, tmp_path, max_retries=0)
    assert line.endswith("an empty body" if body.strip() == b"" else ": null"), line
    assert "None" not in line


@pytest.mark.parametrize("promised", [0, 5])
def test_a_body_cut_off_after_the_headers_is_named_so(
    server: HostileServer, tmp_path: Path, promised: int
) -> None:
    server.route("GET", SOURCES_PATH, Reply(body=[SOURCE] * 10, cut_after=promised))
    done = run_against(server, tmp_path, max_retries=1)
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    total = len(Reply(body=[SOURCE] * 10).payload({}))
    assert line.endswith(
        "answered HTTP 200 while listing connected sources, but the answer's body was cut off "
        f"after the headers: {promised} of {total} bytes came before the connection closed "
        "(after 2 attempt(s))"
    ), line
    assert "no answer" not in line
    retries = [entry for entry in done.stderr.splitlines() if "retrying after" in entry]
    assert len(retries) == 1
    assert "body cut off after the headers" in retries[0]


def test_a_search_page_cut_off_is_retried_and_delivered(
    server: HostileServer, tmp_path: Path
) -> None:
    page = hits({"id": "a", "doc_date": "2024-03-01T10:00:00Z"})
    server.route("POST", SEARCH_PATH, Reply(body=page, cut_after=9), Reply(body=page))
    done = run_against(server, tmp_path)
    assert done.returncode == 0, done.stderr
    records = parse_messages(done.stdout, SyncResult(0)).records["search_results"]
    assert [record["id"] for record in records] == ["a"]
    assert "body cut off after the headers" in done.stderr


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"", "got an empty body"),
        (b"\n", "got an empty body"),
        (b"null", "got null"),
        (b'"ok"', "got a string"),
        (b"42", "got a number"),
    ],
)
def test_a_search_answer_without_posts_is_named_in_json_words(
    server: HostileServer, tmp_path: Path, body: bytes, named: str
) -> None:
    server.route("POST", SEARCH_PATH, Reply(body=body))
    line = error_after(server, tmp_path)
    assert line.endswith(
        f"expected a list of posts (plain or under results, hits, documents, data, items), {named}"
    ), line
    assert not re.search(r"NoneType|\bstr\b|\bint\b|bytes", line)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"results": "x"}, "results is a string, expected a list of posts"),
        ({"results": None}, "results is null, expected a list of posts"),
        ({"results": {"total": 3}}, "results is an object with keys total, expected a list"),
        ({"data": {"items": 7}}, "data.items is a number, expected a list of posts"),
    ],
)
def test_a_results_key_of_the_wrong_kind_is_named(
    server: HostileServer, tmp_path: Path, body: dict[str, Any], named: str
) -> None:
    server.route("POST", SEARCH_PATH, Reply(body=body))
    line = error_after(server, tmp_path)
    assert named in line, line
    assert "malformed response while searching data365_" in line, line
    assert "got an object with keys" not in line


def test_an_empty_source_list_body_is_named(server: HostileServer, tmp_path: Path) -> None:
    server.route("GET", SOURCES_PATH, Reply(body=b""))
    line = error_after(server, tmp_path)
    assert "expected a list of sub-sources" in line
    assert "malformed response while listing connected sources" in line, line
    assert line.endswith("got an empty body"), line


def test_invalid_utf8_is_named_as_an_encoding_error(server: HostileServer, tmp_path: Path) -> None:
    server.route("GET", SOURCES_PATH, Reply(body=b'["tiktok_\xff\xfehashtag"]'))
    line = error_after(server, tmp_path)
    assert line.endswith(
        "malformed response while listing connected sources: HTTP 200 with a body that is "
        "not valid UTF-8 at byte 9 (JSON must be UTF-8)"
    ), line


def test_a_body_that_is_not_json_is_quoted_as_text(server: HostileServer, tmp_path: Path) -> None:
    server.route("GET", SOURCES_PATH, Reply(body=b"<html><b>gateway</b>  hiccup</html>"))
    line = error_after(server, tmp_path)
    assert line.endswith("HTTP 200 with a body that is not JSON: gateway hiccup"), line


# ---------------------------------------------------------------------------- numeric doc_date


def _epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000000Z")  # whole seconds


def test_a_numeric_doc_date_outside_plausible_dates_is_kept_raw_with_a_warning(
    server: HostileServer, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    implausible: dict[str, Any] = {
        "twelve": 12,
        "before-2000": 946684799,  # 1999-12-31T23:59:59Z
        "digits-1970": "12345678901",  # epoch ms, 1970-05-23
        "two-days-ahead": _epoch_ms(now + dt.timedelta(days=2)),
    }
    plausible: dict[str, Any] = {
        "ms-now": _epoch_ms(now),
        "seconds-2024": 1709287200,  # 2024-03-01T10:00:00Z
        "hour-ahead": _epoch_ms(now + dt.timedelta(hours=1)),
        "iso-1970": "1970-01-01T00:00:12Z",  # spelt out: taken as sent
    }
    documents = [
        {"id": key, "doc_date": value} for key, value in {**implausible, **plausible}.items()
    ]
    server.route("POST", SEARCH_PATH, Reply(body=hits(*documents)))
    done = run_against(server, tmp_path)
    assert done.returncode == 0, done.stderr
    delivered = {
        record["id"]: record
        for record in parse_messages(done.stdout, SyncResult(0)).records["search_results"]
    }
    assert set(delivered) == set(implausible) | set(plausible)  # nothing lost
    for key, value in implausible.items():
        assert delivered[key]["doc_date"] is None, key
        assert delivered[key]["extra_fields"]["doc_date_raw"] == value
    assert delivered["ms-now"]["doc_date"] == _iso(now)
    assert delivered["seconds-2024"]["doc_date"] == "2024-03-01T10:00:00.000000Z"
    assert delivered["hour-ahead"]["doc_date"] == _iso(now + dt.timedelta(hours=1))
    assert delivered["iso-1970"]["doc_date"] == "1970-01-01T00:00:12.000000Z"
    for key in plausible:
        assert "doc_date_raw" not in (delivered[key].get("extra_fields") or {}), key
    warnings = [line for line in done.stderr.splitlines() if "no plausible date" in line]
    assert len(warnings) == 1, done.stderr
    assert "4 post(s)" in warnings[0]
    assert "e.g. id twelve" in warnings[0]
    assert not any("cannot be read" in line for line in done.stderr.splitlines())
