"""The window splitter's two ways to give up, each one line through the real tap over HTTP.

- More posts share one instant than the Search API can page (from + size ≤ 10,000): the
  window cannot be split any further, so the sync stops instead of losing posts.
- Pages of one result list disagree (a short page before a non-empty one) on every reading:
  the results keep changing while paged, so the sync stops instead of guessing.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from data365_emulator import Emulator
from tests.helpers.emulator import start_emulator
from tests.helpers.tap import API_KEY, run_tap, when

SOURCE = "tiktok_hashtag"


def _config(emu: Emulator) -> dict[str, object]:
    return {
        "api_key": API_KEY,
        "api_url": emu.url,
        "sources": [SOURCE],
        "start_date": "2024-01-01T00:00:00Z",
        "max_retries": 0,
    }


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert len(lines) == 1, stderr[-3000:]
    assert "Traceback" not in stderr
    return lines[0]


def test_more_posts_at_one_instant_than_the_api_can_page_stop_the_sync(tmp_path: Path) -> None:
    with start_emulator(seed_posts={SOURCE: 50}) as emu:
        instant = "2024-05-01T12:00:00+00:00"
        emu.add_posts(SOURCE, 10_050, instant, instant)
        result = run_tap(tmp_path, _config(emu))

    assert result.returncode == 1
    line = _one_error_line(result.stderr)
    found = re.search(
        r"more than 10000 posts of index data365_tiktok_hashtag share doc_date (\S+); "
        r"the Search API cannot page them all",
        line,
    )
    assert found, line
    # The window was split down to the narrowest one holding the instant (1 ms or less).
    gap = when(instant) - when(found.group(1))
    assert dt.timedelta(0) <= gap <= dt.timedelta(milliseconds=1)
    # Nothing of the window was emitted as if it were complete.
    assert len(result.ids()) == 0


def test_results_that_keep_changing_while_paged_stop_the_sync(tmp_path: Path) -> None:
    with start_emulator(seed_posts={SOURCE: 450}, unstable_page_from=100) as emu:
        result = run_tap(tmp_path, {**_config(emu), "max_concurrency": 4})
        pages_at_100 = [r for r in emu.requests if r.body and r.body["query"].get("from") == 100]

    assert result.returncode == 1
    line = _one_error_line(result.stderr)
    assert "search results of index data365_tiktok_hashtag kept changing while being paged" in line
    assert len(pages_at_100) == 3  # read, then read again twice, before giving up
