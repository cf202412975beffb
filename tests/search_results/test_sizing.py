"""Windows sized by the Count API (sizing.py): requests near the minimum, and a count that is
absent or wrong costs requests, never posts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from data365_emulator import Emulator
from tests.helpers.emulator import start_emulator
from tests.helpers.tap import SyncResult, sync

SOURCE = "twitter_keywords"
POSTS = 25_000
#: One page per 100 posts and the empty one that ends them: what a single window would cost.
MINIMUM = POSTS // 100 + 1
START = "2024-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator() as emu:
        assert emu.post_count(SOURCE) == POSTS
        yield emu


def sync_source(emu: Emulator, tmp_path: Path, **behaviour: Any) -> SyncResult:
    """A full sync of SOURCE, the emulator's Count API and order set to ``behaviour``: every
    post once."""
    emu.configure(**{"count_api": "honour", "search_order": "relevance", **behaviour})
    result = sync(emu, tmp_path, sources=[SOURCE], start_date=START)
    assert len(set(result.ids())) == POSTS
    assert result.duplicates() == 0
    return result


def test_counted_windows_cost_few_requests_over_the_minimum(
    emulator: Emulator, tmp_path: Path
) -> None:
    result = sync_source(emulator, tmp_path)
    searches, counts = result.sent("/api/search"), result.sent("/api/count")
    # Three windows of about 8,500 posts: a short page ends each, the first page of the whole
    # range (the sample the cuts come from) is the one page read and not kept.
    assert len(searches) <= MINIMUM + 4
    assert len(counts) <= 4
    assert len(searches) + len(counts) <= MINIMUM + 7
    # No probe of the last reachable page: every window was known to fit.
    assert all(r.body is not None and r.body["query"]["from"] < 9_900 for r in searches)
    assert "Count API" not in result.stderr


def test_a_server_without_the_count_api_gets_probed_windows(
    emulator: Emulator, tmp_path: Path
) -> None:
    result = sync_source(emulator, tmp_path, count_api="absent")
    counts = result.sent("/api/count")
    assert [r.status for r in counts] == [404]  # asked once, then never again
    assert result.stderr.count("Count API is not used") == 1
    # The fallback probes the last reachable page of full windows, as before.
    searches = result.sent("/api/search")
    assert any(r.body is not None and r.body["query"]["from"] == 9_900 for r in searches)


def test_a_wrong_count_is_caught_by_the_pages_and_loses_nothing(
    emulator: Emulator, tmp_path: Path
) -> None:
    # Half the true totals: a window counted as fitting holds more than it can page.
    result = sync_source(emulator, tmp_path, count_api="wrong")
    assert result.stderr.count("Count API is not used") == 1
    assert "whose pages held" in result.stderr
    searches = result.sent("/api/search")
    assert max(r.body["query"]["from"] for r in searches if r.body is not None) <= 9_900


@pytest.mark.parametrize("order", ["doc_date_asc", "doc_date_desc"])
def test_a_sorted_server_gives_a_poor_sample_and_still_few_requests(
    emulator: Emulator, tmp_path: Path, order: str
) -> None:
    # The first page then holds only the oldest (or newest) posts: the cuts it suggests are
    # lopsided, and the part still too large is halved by count instead.
    result = sync_source(emulator, tmp_path, search_order=order)
    searches, counts = result.sent("/api/search"), result.sent("/api/count")
    assert len(searches) + len(counts) <= MINIMUM * 1.1
