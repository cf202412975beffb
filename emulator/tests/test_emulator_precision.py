"""Dates at the index's precision: ``date_precision`` ms (the default, as the Search API's
Elasticsearch ``date`` fields), us and s, over real HTTP.

Posts are added dated exactly (``POST /_emulator/posts`` with ``doc_dates``) a fraction of a
millisecond apart, and ranges, counts, order and ``search_after`` are read back.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from helpers import ROOT, TWITTER, Client

from data365_emulator import Emulator, EmulatorConfig

SOURCE = "twitter_keywords"
#: Two posts in the millisecond .827, one in .828, one a second later (µs text kept).
DATES = (
    "2024-05-01T12:00:00.827100Z",
    "2024-05-01T12:00:00.827900Z",
    "2024-05-01T12:00:00.828000Z",
    "2024-05-01T12:00:01.500000Z",
)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(empty=True)) as emulator:
        yield emulator


@pytest.fixture
def ids(emu: Emulator) -> dict[str, str]:
    """doc_date → id of the posts of ``DATES``."""
    response = Client(emu.url).post("/_emulator/posts", {"source": SOURCE, "doc_dates": DATES})
    assert response.status_code == 200, response.text
    assert response.json()["added"] == len(DATES)
    return dict(zip(DATES, response.json()["ids"], strict=True))


def _dates(api: Client, query: str) -> list[str]:
    return sorted(post["doc_date"] for post in api.hits(query))


def test_the_default_reads_dates_as_their_millisecond(emu: Emulator, ids: dict[str, str]) -> None:
    assert emu.config.date_precision == "ms"
    api = Client(emu.url)
    # A bound inside .827 is read as .827: both posts of that millisecond are at or after it.
    after = _dates(api, 'doc_date:["2024-05-01T12:00:00.827500Z" TO *}')
    assert after == list(DATES)
    # ... and neither is before it; an exclusive end inside .828 excludes the post at .828.
    before = _dates(api, 'doc_date:[* TO "2024-05-01T12:00:00.828400Z"}')
    assert before == list(DATES[:2])
    # A range inside one millisecond is empty; inclusive ends take their whole millisecond.
    noon = "2024-05-01T12:00:00"
    assert _dates(api, f'doc_date:["{noon}.827100Z" TO "{noon}.827900Z"}}') == []
    assert _dates(api, f'doc_date:["{noon}.8279Z" TO "{noon}.8281Z"]') == list(DATES[:3])
    exclusive_start = _dates(api, 'doc_date:{"2024-05-01T12:00:00.827999Z" TO *}')
    assert exclusive_start == list(DATES[2:])
    # The documents keep their text: the µs are there, the index just does not read them.
    assert {post["doc_date"] for post in api.hits("*")} == set(DATES)
    assert set(ids) == set(DATES)


def test_counts_and_found_ranges_read_the_same(emu: Emulator, ids: dict[str, str]) -> None:
    api = Client(emu.url)
    noon = "2024-05-01T12:00:00"
    query = f'doc_date:["{noon}.827700Z" TO "{noon}.828500Z"}}'
    body = {"query": {"query": query, "data_sources": [TWITTER]}}
    assert api.post("/api/count", body).json() == {"total": {"value": 2}}
    found = api.hits("*")[0]["content"]["found"]  # found now, in µs: read as its millisecond
    millisecond = found[:23]
    same_ms = f'content.found:["{millisecond}999Z" TO *}}'
    assert len(api.hits(same_ms)) == len(DATES)
    emu.configure(date_precision="us")
    assert len(api.hits(same_ms)) == (len(DATES) if found[23:26] == "999" else 0)


def test_search_after_tokens_are_milliseconds(emu: Emulator, ids: dict[str, str]) -> None:
    api = Client(emu.url)
    sort = [{"field": "doc_date", "order": "asc"}]
    first = api.search("*", size=1, sort=sort).json()
    assert first["results"][0]["doc_date"] == DATES[0]
    token = first["search_after"]
    assert token == ["1714564800827"]
    # Strictly after .827: the other post of that millisecond is not after it (as in ES).
    rest = api.search("*", size=10, sort=sort, search_after=token).json()["results"]
    assert [post["doc_date"] for post in rest] == list(DATES[2:])


def test_us_reads_microseconds_and_s_whole_seconds(emu: Emulator, ids: dict[str, str]) -> None:
    api = Client(emu.url)
    inside_ms = 'doc_date:["2024-05-01T12:00:00.827500Z" TO "2024-05-01T12:00:01.200Z"}'
    inside_s = 'doc_date:["2024-05-01T12:00:00.900Z" TO "2024-05-01T12:00:01.600Z"}'
    assert _dates(api, inside_ms) == list(DATES[:3])
    assert _dates(api, inside_s) == list(DATES[3:])
    emu.configure(date_precision="us")
    assert _dates(api, inside_ms) == list(DATES[1:3])
    assert _dates(api, inside_s) == list(DATES[3:])
    emu.configure(date_precision="s")
    # Both bounds read as whole seconds: [12:00:00, 12:00:01).
    assert _dates(api, inside_ms) == list(DATES[:3])
    assert _dates(api, inside_s) == list(DATES[:3])
    emu.configure(date_precision="ms")
    assert _dates(api, inside_ms) == list(DATES[:3])


def test_a_precision_it_does_not_know_is_refused(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="date_precision"):
        EmulatorConfig(date_precision="ns")
    response = Client(emu.url).post("/_emulator/config", {"date_precision": "minutes"})
    assert response.status_code == 400
    assert "date_precision" in response.json()["message"]
    bad = Client(emu.url).post("/_emulator/posts", {"source": SOURCE, "doc_dates": ["soon"]})
    assert bad.status_code == 400
    no_found = {"source": SOURCE, "doc_dates": [DATES[0]], "found": "later"}
    assert Client(emu.url).post("/_emulator/posts", no_found).status_code == 400


def test_dated_posts_take_their_found_date(emu: Emulator) -> None:
    found = "2024-05-02T08:00:00.123456Z"
    body = {"source": SOURCE, "doc_dates": list(DATES), "found": found}
    assert Client(emu.url).post("/_emulator/posts", body).json()["added"] == len(DATES)
    posts = Client(emu.url).hits('content.found:["2024-05-02T08:00:00.123999Z" TO *}')
    assert sorted(post["doc_date"] for post in posts) == list(DATES)
    assert {post["content"]["found"] for post in posts} == {found}


def test_the_command_line_takes_the_precision() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "data365_emulator", "--help"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert "--date-precision {ms,us,s}" in help_text
    refused = subprocess.run(
        [sys.executable, "-m", "data365_emulator", "--date-precision", "ns"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "--date-precision" in refused.stderr
