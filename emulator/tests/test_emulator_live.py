"""Live arrivals: posts found while the emulator runs, and bursts on demand, over HTTP.

The live feed is timed by the emulator's clock, which these tests hold and move by hand:
what is searchable after a move is exact, with nothing to wait for. Only the ticker test and
the command-line test use the real clock, and they wait on a condition, with a bound.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from helpers import KEY, ROOT, TWITTER, Client

from data365_emulator import Emulator, EmulatorConfig
from data365_emulator.instants import instant_us

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
HOUR = 3600.0
DAY = 24 * HOUR
#: Seconds between publication (doc_date) and content.found, per class.
AGES = {"fresh": (0.0, HOUR), "late": (2 * DAY, 7 * DAY), "very_late": (200 * DAY, 300 * DAY)}
TIKTOK = "data365_tiktok_hashtag"


class Clock:
    """The emulator's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def live(clock: Clock) -> Iterator[Emulator]:
    config = EmulatorConfig(api_key=KEY, empty=True, live_rate=2.0)
    with Emulator(config, clock=clock) as emulator:
        yield emulator


def _seconds(text: str) -> float:
    micros = instant_us(text)
    assert micros is not None
    return micros / 1_000_000


def _kind(doc: dict[str, Any]) -> str:
    """The class a post's age says it is in (each class's range is apart from the others)."""
    age = _seconds(doc["content"]["found"]) - _seconds(doc["doc_date"])
    (kind,) = [k for k, (low, high) in AGES.items() if low <= age <= high]
    return kind


def _control(emu: Emulator, method: str, path: str, body: object = None) -> requests.Response:
    return requests.request(method, f"{emu.url}/_emulator/{path}", json=body, timeout=30)


def _count(emu: Emulator, source: str = "twitter_keywords") -> int:
    count: int = _control(emu, "GET", f"post-count/{source}").json()["count"]
    return count


def test_arrivals_follow_the_clock_and_are_found_when_due(live: Emulator, clock: Clock) -> None:
    api = Client(live.url)
    assert _count(live) == 0
    clock.now += 10
    posts = api.hits("*")
    assert len(posts) == 20  # 2 per second
    found = sorted(_seconds(p["content"]["found"]) for p in posts)
    assert found == [T0 + 0.5 * n for n in range(1, 21)]
    assert all(p["content"]["found_by"] is None for p in posts)
    kinds = [_kind(p) for p in posts]
    status = _control(live, "GET", "arrivals").json()
    assert status["added"] == 20
    assert status["by_class"] == {k: kinds.count(k) for k in AGES}
    assert status["rate_per_second"] == 2.0
    clock.now += 0.4
    assert _count(live) == 20  # the next one is due at +10.5 s
    clock.now += 0.1
    assert _count(live) == 21


def test_the_tap_finds_arrivals_by_content_found(live: Emulator, clock: Clock) -> None:
    api = Client(live.url)
    clock.now += 5  # 10 posts, found at +0.5 … +5 s
    clock.now += 5  # 10 more, found at +5.5 … +10 s
    since = dt.datetime.fromtimestamp(T0 + 5.25, dt.UTC).isoformat().replace("+00:00", "Z")
    newer = api.hits(f'content.found:["{since}" TO *}}')
    assert sorted(_seconds(p["content"]["found"]) for p in newer) == [
        T0 + 5 + 0.5 * n for n in range(1, 11)
    ]


def test_a_new_rate_applies_from_when_it_is_set(live: Emulator, clock: Clock) -> None:
    clock.now += 10
    answer = _control(live, "POST", "config", {"live_rate": "30/min"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["live_rate"] == 0.5
    assert _count(live) == 20  # the 20 due at the old rate, no more
    clock.now += 4
    assert _count(live) == 22
    found = sorted(_seconds(p["content"]["found"]) for p in Client(live.url).hits("*"))
    assert found[-2:] == [T0 + 12, T0 + 14]
    _control(live, "POST", "config", {"live_rate": 0})
    clock.now += HOUR
    assert _count(live) == 22


def _documents(seed: int, steps: list[float]) -> dict[str, dict[str, Any]]:
    clock = Clock()
    config = EmulatorConfig(api_key=KEY, empty=True, seed=seed, live_rate=3.0,
                            live_sources=("twitter_keywords", "tiktok_hashtag"))  # fmt: skip
    with Emulator(config, clock=clock) as emulator:
        for step in steps:
            clock.now += step
            _count(emulator)  # any request adds what is due
        api = Client(emulator.url)
        posts = api.hits("*") + api.hits("*", sources=(TIKTOK,))
    return {p["id"]: p for p in posts}


def test_the_same_seed_gives_the_same_arrivals_however_they_are_batched() -> None:
    one_by_one = _documents(365, [1.0] * 20)
    at_once = _documents(365, [20.0])
    assert len(one_by_one) == 60
    assert one_by_one == at_once
    other_seed = _documents(366, [20.0])
    assert [p["content"]["body"] for p in other_seed.values()] != [
        p["content"]["body"] for p in at_once.values()
    ]


def test_a_burst_is_found_now_and_split_exactly(live: Emulator, clock: Clock) -> None:
    _control(live, "POST", "config", {"live_rate": 0})
    clock.now += 60
    answer = _control(live, "POST", "arrivals", {"count": 70, "source": "tiktok_hashtag"})
    assert answer.status_code == 200, answer.text
    burst = answer.json()
    assert burst["added"] == 70
    assert burst["counts"] == {"fresh": 40, "late": 25, "very_late": 5}
    assert _seconds(burst["found"]) == T0 + 60
    posts = Client(live.url).hits("*", sources=(TIKTOK,))
    assert sorted(p["id"] for p in posts) == sorted(burst["ids"])
    assert len(set(burst["ids"])) == 70
    assert {_seconds(p["content"]["found"]) for p in posts} == {T0 + 60}
    kinds = [_kind(p) for p in posts]
    assert {k: kinds.count(k) for k in AGES} == burst["counts"]
    again = _control(live, "POST", "arrivals", {"count": 3, "shares": {"very_late": 1}}).json()
    assert again["source"] == "twitter_keywords"  # the first of live_sources
    assert again["counts"] == {"fresh": 0, "late": 0, "very_late": 3}
    status = _control(live, "GET", "arrivals").json()
    assert (status["bursts"], status["burst_posts"], status["added"]) == (2, 73, 0)


def test_the_earlier_control_endpoints_still_work_beside_it(live: Emulator) -> None:
    added = _control(live, "POST", "posts", {"source": "twitter_keywords", "count": 4,
                     "from_date": "2024-05-01", "to_date": "2024-05-02"})  # fmt: skip
    assert added.json() == {"added": 4}
    assert _count(live) == 4


@pytest.mark.parametrize(
    ("path", "body", "names"),
    [
        ("arrivals", {"count": -1}, "count"),
        ("arrivals", {"count": "many"}, "count"),
        ("arrivals", {"count": 5, "source": "myspace"}, "myspace"),
        ("arrivals", {"count": 5, "shares": {"stale": 1}}, "live_shares"),
        ("arrivals", {"count": 5, "shares": {"fresh": 0}}, "live_shares"),
        ("arrivals", {"counts": 5}, "count"),
        ("config", {"live_rate": "fast"}, "live_rate"),
        ("config", {"live_rate": -1}, "live_rate"),
        ("config", {"live_shares": "fresh:1"}, "live_shares"),
        ("config", {"live_sources": ["nope"]}, "live_sources"),
    ],
)
def test_bad_live_settings_are_refused_in_one_line(
    live: Emulator, path: str, body: dict[str, Any], names: str
) -> None:
    answer = _control(live, "POST", path, body)
    assert answer.status_code == 400
    message = answer.json()["message"]
    assert names in message
    assert "\n" not in message
    assert _control(live, "GET", "config").json()["live_rate"] == 2.0  # unchanged


def _until(condition: Callable[[], bool], what: str, bound: float = 30.0) -> None:
    """Wait for ``condition`` (never for a length of time): fail after ``bound`` seconds."""
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def test_the_ticker_adds_arrivals_while_nobody_asks(live: Emulator, clock: Clock) -> None:
    clock.now += 3
    _until(lambda: live.live.added == 6, "6 arrivals added without a request")
    assert live.indexes.count("twitter_keywords") == 6


def test_the_command_line_sets_the_live_feed() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "data365_emulator", "--port", "0", "--empty",
         "--live-rate", "600/min", "--live-shares", "fresh=1", "--live-sources", "tiktok_hashtag"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split(" on ", 1)[1].strip()
        config = requests.get(url + "/_emulator/config", timeout=30).json()
        assert config["live_rate"] == 10.0
        assert config["live_shares"] == {"fresh": 1.0, "late": 0.0, "very_late": 0.0}
        assert config["live_sources"] == ["tiktok_hashtag"]
        control = url + "/_emulator/post-count/tiktok_hashtag"
        _until(lambda: requests.get(control, timeout=30).json()["count"] >= 3, "3 arrivals")
        posts = Client(url).hits("*", sources=(TIKTOK,))
        assert len(posts) >= 3
        assert {_kind(p) for p in posts} == {"fresh"}
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_command_line_refuses_a_bad_rate_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "data365_emulator", "--port", "0", "--live-rate", "fast"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "live_rate" in done.stderr
    assert "Traceback" not in done.stderr
    assert TWITTER not in done.stdout
