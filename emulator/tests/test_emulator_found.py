"""The emulator's discovery dates: content.found is the collection time, re-runs and posts
without a task, and the switches for servers that do not filter on content.found or doc_date.

Over HTTP, like the tap talks to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from helpers import when

from data365_emulator import Emulator, EmulatorConfig

KEY = "found-key"
SOURCE = "linkedin_company"
INDEX = "data365_linkedin_company"
PROVIDER = "/api/data-providers/data365"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(api_key=KEY, seed_posts={SOURCE: 300})) as emulator:
        yield emulator


def search(emu: Emulator, query: str) -> list[dict[str, Any]]:
    """Every hit of the query (pages of 100)."""
    hits: list[dict[str, Any]] = []
    while True:
        body = {"query": {"query": query, "data_sources": [INDEX], "from": len(hits),
                          "size": 100}}  # fmt: skip
        response = requests.post(
            f"{emu.url}/api/search", json=body, headers={"apikey": KEY}, timeout=30
        )
        response.raise_for_status()
        page = response.json()["results"]
        hits.extend(page)
        if len(page) < 100:
            return hits


def found_since(moment: str) -> str:
    return f'content.found:["{moment}" TO *}}'


def test_a_rerun_adds_a_few_posts_found_at_its_finish(emu: Emulator) -> None:
    task_id = emu.add_task(SOURCE, "azure", "2024-05-01", "2024-05-31", status="running")
    emu.finish_running_tasks()
    first = emu.tasks.find(SOURCE, task_id).updated
    emu.tasks.start(emu.tasks.find(SOURCE, task_id), emu.config)
    emu.finish_running_tasks()
    second = emu.tasks.find(SOURCE, task_id).updated
    assert second > first
    later = search(emu, found_since(second))
    assert len(later) == emu.config.rerun_posts == 30
    assert all(p["content"]["found"] == second for p in later)
    assert all(p["content"]["found_by"] == task_id for p in later)
    assert len(search(emu, found_since(first))) == emu.config.posts_per_task + 30


def test_posts_added_without_a_task(emu: Emulator) -> None:
    before = emu.post_count(SOURCE)
    response = requests.post(
        f"{emu.url}/_emulator/posts",
        json={"source": SOURCE, "count": 12, "from_date": "2024-02-01", "to_date": "2024-02-03"},
        timeout=30,
    )
    assert response.json() == {"added": 12}
    assert emu.post_count(SOURCE) == before + 12
    added = [p for p in search(emu, "*") if p["content"]["found_by"] is None]
    assert len(added) == 12
    for post in added:
        doc_date = when(post["doc_date"])
        assert doc_date is not None
        assert when("2024-02-01") <= doc_date < when("2024-02-04")
        found = when(post["content"]["found"])
        assert found is not None
        assert found.year >= 2025  # found now, dated long before


def test_found_range_switches(emu: Emulator) -> None:
    everything = len(search(emu, "*"))
    future = found_since("2999-01-01T00:00:00Z")
    past = found_since("1970-01-01T00:00:00Z")
    assert search(emu, future) == []
    assert len(search(emu, past)) == everything
    emu.configure(found_ranges="ignore")
    assert len(search(emu, future)) == everything
    emu.configure(found_ranges="match_none")
    assert search(emu, past) == []
    assert len(search(emu, "*")) == everything


def test_doc_date_range_switch(emu: Emulator) -> None:
    window = 'doc_date:["2024-03-01T00:00:00Z" TO "2024-04-01T00:00:00Z"}'
    honoured = search(emu, window)
    assert 0 < len(honoured) < emu.post_count(SOURCE)
    emu.configure(doc_date_ranges="ignore")
    assert len(search(emu, window)) == emu.post_count(SOURCE)
