"""Behind a server that serves one request at a time, the tap slows down instead of hammering it;
and its own requests show up in the SDK's HTTP metrics like any SDK tap's."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tests.helpers.emulator import start_emulator
from tests.helpers.tap import API_KEY, run_tap

SOURCE = "twitter_keywords"
POSTS = 12_000


def test_few_429s_behind_a_one_request_in_flight_server(tmp_path: Path) -> None:
    # 20 ms per request, so that concurrent requests really overlap at the server.
    with start_emulator(
        seed_posts={SOURCE: POSTS}, max_in_flight=1, retry_after=0.2, latency_ms=20
    ) as emu:
        result = run_tap(tmp_path, {"api_key": API_KEY, "api_url": emu.url, "sources": [SOURCE]})
        assert result.returncode == 0, result.stderr[-3000:]
        assert len(set(result.ids())) == POSTS
        statuses = Counter(r.status for r in emu.requests)
        refused = emu.gate.refused
    assert statuses[429] == refused > 0  # the limit was reached: the test means something
    # Workers that back off alone keep colliding (about 40 % of requests refused); one
    # shared limiter lowers the concurrency to what the server takes after the first burst.
    assert refused <= 0.05 * sum(statuses.values()), statuses


def _metrics(stderr: str) -> list[dict[str, Any]]:
    points = []
    for line in stderr.splitlines():
        _, sep, payload = line.partition("METRIC: ")
        if sep:
            points.append(json.loads(payload))
    return points


def test_each_request_is_timed_and_counted_in_metric_lines(tmp_path: Path) -> None:
    with start_emulator(seed_posts={SOURCE: 1_500}, retry_after=0) as emu:
        emu.configure(fail_next=["429"])  # the first request is refused once, then retried
        result = run_tap(tmp_path, {"api_key": API_KEY, "api_url": emu.url, "sources": [SOURCE]})
        assert result.returncode == 0, result.stderr[-3000:]
        log = emu.requests
    points = _metrics(result.stderr)
    timers = [p for p in points if p["metric"] == "http_request_duration"]
    # One duration per attempt, the refused one included, with its status.
    assert len(timers) == len(log)
    assert Counter((t["tags"]["http_status_code"], t["tags"]["status"]) for t in timers) == {
        (200, "succeeded"): len(log) - 1,
        (429, "failed"): 1,
    }
    searches = [r for r in log if r.path == "/api/search"]
    by_endpoint = Counter(
        (t["tags"]["stream"], t["tags"]["endpoint"])
        for t in timers
        if t["tags"]["status"] != "failed"
    )
    assert by_endpoint[("search_results", "/api/search")] == len(searches)
    # The task list of a source is one endpoint, whatever the source, tagged with the stream
    # that asked for it (search_results syncs before tasks, which reuses the answer).
    assert by_endpoint[("search_results", "/api/data-providers/data365/{source}")] >= 1
    assert by_endpoint[("sources", "/api/data-providers/data365/{source}")] == 0
    assert all(isinstance(t["value"], float) for t in timers)
    # Answered requests, counted per stream and endpoint (logged at the end of the sync).
    counts: Counter[tuple[str, str]] = Counter()
    for point in points:
        if point["metric"] == "http_request_count":
            counts[(point["tags"]["stream"], point["tags"]["endpoint"])] += point["value"]
    assert counts[("search_results", "/api/search")] == len(searches)
    assert sum(counts.values()) == len(log) - 1
