"""An index that lags: live arrivals become searchable some time after their content.found.

The clock is held by the test, so what is searchable after each move is exact: an arrival
found at ``t`` with a lag of ``d`` is absent at ``t + d - ε`` and present at ``t + d``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from helpers import KEY, ROOT, Client, when

from data365_emulator import Emulator, EmulatorConfig

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


class Clock:
    """The emulator's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def _control(emu: Emulator, method: str, path: str, body: object = None) -> requests.Response:
    return requests.request(method, f"{emu.url}/_emulator/{path}", json=body, timeout=30)


def _found(emu: Emulator) -> list[float]:
    """The content.found of every searchable post, in seconds since the epoch."""
    return sorted(when(p["content"]["found"]).timestamp() for p in Client(emu.url).hits("*"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def lagging(clock: Clock) -> Iterator[Emulator]:
    config = EmulatorConfig(api_key=KEY, empty=True, live_rate=1.0, index_lag=(60.0, 60.0))
    with Emulator(config, clock=clock) as emulator:
        yield emulator


def test_a_fixed_lag_delays_every_arrival_by_exactly_that(lagging: Emulator, clock: Clock) -> None:
    clock.now += 30
    assert _found(lagging) == []  # 30 found, none searchable yet
    status = _control(lagging, "GET", "index-lag").json()
    assert status == {"index_lag_seconds": [60.0, 60.0], "pending": 30}
    clock.now += 30.5  # the first is searchable at +61 s (found at +1 s)
    assert _found(lagging) == []
    clock.now += 0.5
    assert _found(lagging) == [T0 + 1]
    clock.now += 9
    assert _found(lagging) == [T0 + n for n in range(1, 11)]
    arrivals = _control(lagging, "GET", "arrivals").json()
    assert (arrivals["added"], arrivals["pending"]) == (10, 60)


def test_the_control_endpoint_sets_a_range_for_what_is_found_next(
    lagging: Emulator, clock: Clock
) -> None:
    clock.now += 10  # 10 arrivals found under the 1-minute lag
    answer = _control(lagging, "POST", "index-lag", {"lag": "2m-4m"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"index_lag_seconds": [120.0, 240.0], "pending": 10}
    clock.now += 110  # +120 s: the first 10 are searchable, the 110 after them not yet
    assert _found(lagging) == [T0 + n for n in range(1, 11)]
    clock.now += 240  # +360 s: everything found by +120 s is searchable, each within its range
    found = _found(lagging)
    assert [t for t in found if t <= T0 + 120] == [T0 + n for n in range(1, 121)]
    lags = _lags(lagging, clock)
    assert all(120 <= lag <= 240 for lag in lags)
    assert max(lags) - min(lags) > 60  # drawn from the range, not one value


def _lags(emu: Emulator, clock: Clock) -> list[float]:
    """Each arrival found after +10 s: the first instant at which it was searchable, minus
    its content.found (replayed on a second emulator with the same seed, one second a step)."""
    replay_clock = Clock()
    config = EmulatorConfig(api_key=KEY, empty=True, live_rate=1.0, index_lag=(60.0, 60.0))
    first_seen: dict[float, float] = {}
    with Emulator(config, clock=replay_clock) as replay:
        replay_clock.now += 10
        _control(replay, "POST", "index-lag", {"lag": [120, 240]})
        while replay_clock.now < T0 + 360:
            replay_clock.now += 1
            for found in _found(replay):
                first_seen.setdefault(found, replay_clock.now)
    assert sorted(first_seen) == _found(emu)  # the same arrivals, the same lags
    return [seen - found for found, seen in first_seen.items() if T0 + 10 < found <= T0 + 120]


def _documents(seed: int, steps: list[float]) -> dict[float, dict[str, Any]]:
    clock = Clock()
    config = EmulatorConfig(api_key=KEY, empty=True, seed=seed, live_rate=2.0,
                            index_lag=(30.0, 90.0))  # fmt: skip
    with Emulator(config, clock=clock) as emulator:
        for step in steps:
            clock.now += step
            Client(emulator.url).search("*")  # any request adds what is due
        posts = Client(emulator.url).hits("*")
        return {when(p["content"]["found"]).timestamp(): p for p in posts}


def test_the_same_seed_gives_the_same_lags_however_the_clock_moves() -> None:
    step_by_step = _documents(365, [5.0] * 40)
    at_once = _documents(365, [200.0])
    assert 200 < len(step_by_step) < 400
    assert step_by_step == at_once
    # Another seed draws other lags: other arrivals are searchable by then.
    assert _documents(366, [200.0]).keys() != at_once.keys()


@pytest.mark.parametrize("lag", ["soon", "-1m", "5m-1m", [1, 2, 3], True])
def test_a_bad_lag_is_refused_in_one_line(lagging: Emulator, lag: object) -> None:
    answer = _control(lagging, "POST", "index-lag", {"lag": lag})
    assert answer.status_code == 400
    message = answer.json()["message"]
    assert "index_lag" in message
    assert "\n" not in message
    assert _control(lagging, "GET", "config").json()["index_lag"] == [60.0, 60.0]


def test_the_command_line_reads_a_range_and_refuses_nonsense() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "data365_emulator", "--port", "0", "--index-lag", "15m-1m"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "data365-emulator: index_lag: the range's low end is above its high end; got '15m-1m'"
    ]
