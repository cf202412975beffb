"""Scheduled syncs of a busy source while posts keep arriving, with injected faults: nothing
lost, almost nothing repeated, bounded state, and requests that follow what is new.

The same scenario as ``bench/live.py`` (which prints the table), smaller: each arrival is
added through the emulator's control API (``content.found`` = when added, no task)."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from data365_emulator import Emulator
from tests.helpers import tap
from tests.helpers.emulator import start_emulator

SOURCE = "twitter_keywords"
INDEX = "data365_" + SOURCE
OLD_POSTS = 4_000
SYNCS = 10
BUSY_AT = 5
BUSY = 3_000
#: (count, oldest, newest): fresh, late (2-7 days back), very late (200-300 days back).
ARRIVALS = (
    (40, dt.timedelta(hours=1), dt.timedelta(0)),
    (25, dt.timedelta(days=7), dt.timedelta(days=2)),
    (5, dt.timedelta(days=300), dt.timedelta(days=200)),
)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with start_emulator(seed_posts={SOURCE: OLD_POSTS}) as emulator:
        yield emulator


def arrive(emu: Emulator, count: int, oldest: dt.timedelta, newest: dt.timedelta) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    emu.add_posts(SOURCE, count, (now - oldest).isoformat(), (now - newest).isoformat())


#: The one sync helper, with this module's defaults: the busy source, retries for the faults.
sync = partial(tap.sync, sources=[SOURCE], max_retries=10)


def partition(state: dict[str, Any]) -> dict[str, Any]:
    partitions = state["bookmarks"]["search_results"]["partitions"]
    return next(p for p in partitions if p["context"] == {"data_source": INDEX})


def test_a_busy_live_source_synced_every_few_minutes(emu: Emulator, tmp_path: Path) -> None:
    # Every arrival of this test is found within the discovery lookback (the test takes far
    # less than an hour): it is the floor of what each sync must read again.
    settings = {"discovery_lookback_minutes": 60}
    first = sync(emu, tmp_path, None, "first", **settings)
    delivered = set(first.ids())
    assert len(delivered) == OLD_POSTS
    state = first.final_state
    emu.configure(fault_rate=0.05, fault_kinds=["429", "503", "drop"], retry_after=0)
    emitted = repeats = 0
    statuses: set[int] = set()
    for number in range(1, SYNCS + 1):
        for count, oldest, newest in ARRIVALS:
            arrive(emu, count, oldest, newest)
        if number == BUSY_AT:
            arrive(emu, BUSY, dt.timedelta(hours=1), dt.timedelta(0))
        emu.clear_requests()
        result = sync(emu, tmp_path, state, f"sync{number}", **settings)
        ids = result.ids()
        emitted += len(ids)
        repeats += len(ids) - len(set(ids) - delivered)
        delivered |= set(ids)
        # Every post that arrived before this sync is delivered by it.
        assert len(delivered) == emu.post_count(SOURCE), f"sync {number}"
        state = result.final_state
        assert len(json.dumps(partition(state))) <= 64_000
        statuses |= {r.status for r in emu.requests}
        # Search and Count API requests answered (a faulted request is retried: counted once).
        reads = ("/api/search", "/api/count")
        answered = [r for r in emu.requests if r.status == 200 and r.path.startswith(reads)]
        found_in_lookback = emu.post_count(SOURCE) - OLD_POSTS
        assert len(answered) <= math.ceil(found_in_lookback / 100) + 12, f"sync {number}"
    assert repeats <= emitted / 100
    assert statuses & {429, 503, 0}  # faults were injected, and retried


def test_past_the_zone_ceiling_one_warning_and_repeats_not_losses(
    emu: Emulator, tmp_path: Path
) -> None:
    settings = {"boundary_zone_max_posts": 10}
    first = sync(emu, tmp_path, None, "first", **settings)
    arrive(emu, 50, dt.timedelta(days=7), dt.timedelta(days=2))
    busy = sync(emu, tmp_path, first.final_state, "busy", **settings)
    assert len(busy.ids()) == 50
    warnings = [line for line in busy.stderr.splitlines() if "boundary_zone_max_posts" in line]
    assert len(warnings) == 1
    assert "holds 40 posts more than boundary_zone_max_posts (10)" in warnings[0]
    assert "emits them again if it reads them again" in warnings[0]
    # The next sync re-reads the 50 (found within the discovery lookback): the 40 forgotten
    # come again, the 10 remembered do not, and nothing is lost.
    again = sync(emu, tmp_path, busy.final_state, "again", **settings)
    assert len(again.ids()) == 40
    assert set(again.ids()) < set(busy.ids())
