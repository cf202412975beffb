"""An index that lags behind ``content.found``: the tap measures the delay, reads far enough
back to lose nothing, and says so in one line; a delay well inside the lookback costs nothing.

The emulator's clock is the test's (``Clock``): it runs hours behind the tap's, moves on
between syncs and a little with every read the emulator makes of it, so live arrivals keep
coming during a sync too. Each arrival becomes searchable ``index_lag`` after it is found.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from data365_emulator import Emulator, EmulatorConfig
from tap_data365.normalize import parse_timestamp
from tests.helpers import tap

SOURCE = "twitter_keywords"
INDEX = "data365_" + SOURCE
SYNCS = 24
#: Emulated seconds between two syncs, and per read of the clock during one.
STEP = 30.0
PER_READ = 0.25
RATE = 0.5  # live arrivals per emulated second

sync = partial(tap.sync, sources=[SOURCE])


class Clock:
    """The emulator's clock: hours behind the tap's (every date stays in the tap's past),
    moved by the test between syncs and by ``PER_READ`` each time the emulator reads it."""

    def __init__(self) -> None:
        self.now = float(int(time.time()) - 6 * 3600)

    def __call__(self) -> float:
        self.now += PER_READ
        return self.now


@dataclass
class Run:
    delivered: set[str] = field(default_factory=set)
    emitted: int = 0
    warnings: list[str] = field(default_factory=list)
    max_state: int = 0
    #: Per sync: (search + count requests answered, pages of the posts found in the lookback).
    requests: list[tuple[int, int]] = field(default_factory=list)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def lagging(clock: Clock, lag: tuple[float, float]) -> Emulator:
    config = EmulatorConfig(api_key=tap.API_KEY, seed_posts={SOURCE: 300}, index_lag=lag)
    return Emulator(config, clock=clock)


def partition(state: dict[str, Any]) -> dict[str, Any]:
    partitions = state["bookmarks"]["search_results"]["partitions"]
    return next(p for p in partitions if p["context"] == {"data_source": INDEX})


def all_ids(emu: Emulator) -> set[str]:
    return {post.doc_id for post in emu.indexes.get(SOURCE)}


def found_within(emu: Emulator, since: dt.datetime) -> int:
    """Posts whose content.found is at or after ``since`` (the discovery sweep's range)."""
    micros = (since - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    return sum(1 for post in emu.indexes.get(SOURCE) if (post.date("content.found") or 0) >= micros)


def run_syncs(emu: Emulator, clock: Clock, tmp_path: Path, **settings: Any) -> Run:
    """A full first sync, then SYNCS syncs with arrivals between and during them; then the
    arrivals stop, the clock moves past the largest lag, and two syncs read what is left."""
    run = Run()
    first = sync(emu, tmp_path, None, "first", **settings)
    run.delivered = set(first.ids())
    state = first.final_state
    lookback = dt.timedelta(minutes=settings.get("discovery_lookback_minutes", 10))
    emu.configure(live_rate=RATE)
    for number in range(SYNCS + 2):
        if number == SYNCS:
            emu.configure(live_rate=0)
            clock.now += emu.config.index_lag[1] + STEP
        clock.now += STEP
        mark = parse_timestamp(partition(state).get("found_mark"))
        assert mark is not None
        result = sync(emu, tmp_path, state, f"sync{number}", **settings)
        ids = result.ids()
        run.emitted += len(ids)
        run.delivered |= set(ids)
        # The delay's lines (a Count API disagreeing with pages that grew meanwhile may warn
        # too: posts arrive during the sync).
        lines = result.stderr.splitlines()
        run.warnings += [line for line in lines if "discovery_lookback_minutes" in line]
        state = result.final_state
        run.max_state = max(run.max_state, len(json.dumps(partition(state))))
        reads = [r for r in result.requests if r.status == 200 and r.path.startswith("/api/")]
        reads = [r for r in reads if r.path.startswith(("/api/search", "/api/count"))]
        pages = math.ceil(found_within(emu, mark - lookback) / 100)
        run.requests.append((len(reads), pages))
    return run


def test_a_lag_beyond_the_lookback_is_measured_and_nothing_is_lost(
    clock: Clock, tmp_path: Path
) -> None:
    # Posts become searchable 5 s to 3 minutes after their discovery date, with a 1-minute
    # discovery lookback: without the measure about a fifth of them are never read.
    with lagging(clock, (5.0, 180.0)) as emu:
        run = run_syncs(emu, clock, tmp_path, discovery_lookback_minutes=1)
        expected = all_ids(emu)
    assert emu.live.added > 300  # arrivals came, and all are searchable by the end
    assert expected - run.delivered == set()  # 0 lost
    assert run.emitted - (len(run.delivered) - 300) <= run.emitted / 100  # repeats <= 1 %
    assert run.max_state <= 64_000
    assert run.warnings
    assert len(run.warnings) <= SYNCS + 2  # at most one line per sync
    line = run.warnings[-1]
    assert f"search_results {INDEX}: posts became searchable up to " in line
    assert "more than half of discovery_lookback_minutes (1)" in line
    assert "raise discovery_lookback_minutes to" in line
    measured = float(line.split("searchable up to ")[1].split(" minutes")[0])
    assert 1.0 < measured <= 3.0


def test_a_lag_well_inside_the_lookback_says_nothing_and_costs_nothing(
    clock: Clock, tmp_path: Path
) -> None:
    # Up to 2 minutes of lag under the default 10-minute lookback.
    with lagging(clock, (5.0, 120.0)) as emu:
        run = run_syncs(emu, clock, tmp_path)
        expected = all_ids(emu)
    assert expected - run.delivered == set()
    assert run.emitted == len(run.delivered) - 300  # no repeat
    assert run.warnings == []
    for answered, pages in run.requests:
        assert answered <= pages + 12, run.requests


def test_a_state_without_the_measure_loads_and_gains_it(clock: Clock, tmp_path: Path) -> None:
    with lagging(clock, (0.0, 0.0)) as emu:
        first = sync(emu, tmp_path, None, "first")
        state = first.final_state
        assert "reference" in partition(state)["index_delay"]
        del partition(state)["index_delay"]  # as a state of an earlier version
        again = sync(emu, tmp_path, state, "again")
    assert again.ids() == []
    assert "reference" in partition(again.final_state)["index_delay"]
