"""Soak benchmark: scheduled syncs of a busy source while posts keep arriving.

    python bench/live.py [--syncs 16] [--busy-at 8] [--busy 3000] [--fault-rate 0.05] [--json]

The emulator holds 4,000 old posts in ``twitter_keywords``. A first sync reads them; then,
before each of ``--syncs`` scheduled syncs, posts arrive the way they do on a live
collection (``content.found`` = when they were added, no task): 40 fresh (dated in the last
hour), 25 late (dated 2-7 days back), 5 very late (dated 200-300 days back); before sync
``--busy-at`` also a busy hour of ``--busy`` posts dated in the last hour. ``--fault-rate`` of
the API requests fail (429 / 503 / dropped connection) and are retried.

Per sync it prints the posts that arrived, the records emitted, the repeats (records of posts
delivered before, or twice in the sync), the posts that arrived but were not delivered by
this sync, the search requests answered (and those failed by injected faults), the pages of
the posts found within the discovery lookback (the floor: what must be re-read), and the
size of the sub-source's state partition. Nothing is asserted here:
tests/search_results/test_soak.py asserts the bounds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from syncs import tap_sync

from data365_emulator import Emulator, EmulatorConfig

API_KEY = "bench-key"
SOURCE = "twitter_keywords"
INDEX = "data365_" + SOURCE
OLD_POSTS = 4_000
#: (count, oldest, newest) of each sync's arrivals, as ages before now.
ARRIVALS = (
    (40, dt.timedelta(hours=1), dt.timedelta(0)),
    (25, dt.timedelta(days=7), dt.timedelta(days=2)),
    (5, dt.timedelta(days=300), dt.timedelta(days=200)),
)


@dataclass
class Sync:
    sync: int
    arrived: int
    emitted: int
    repeats: int
    missing: int
    search_requests: int
    failed_requests: int
    lookback_pages: int
    state_bytes: int


def add(emu: Emulator, count: int, oldest: dt.timedelta, newest: dt.timedelta) -> int:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return emu.add_posts(SOURCE, count, (now - oldest).isoformat(), (now - newest).isoformat())


def partition_bytes(state: dict[str, Any]) -> int:
    partitions = state["bookmarks"]["search_results"]["partitions"]
    return len(json.dumps(next(p for p in partitions if p["context"] == {"data_source": INDEX})))


def soak(workdir: Path, syncs: int, busy_at: int, busy: int, fault_rate: float,
         settings: dict[str, Any]) -> list[Sync]:  # fmt: skip
    config = {"api_key": API_KEY, "sources": [SOURCE], "max_retries": 10, **settings}
    emulator = EmulatorConfig(api_key=API_KEY, seed_posts={SOURCE: OLD_POSTS})
    with Emulator(emulator) as emu:
        config["api_url"] = emu.url
        delivered, state, _ = tap_sync(workdir, None, config)
        known = set(delivered)
        started = dt.datetime.now(dt.UTC)
        emu.configure(fault_rate=fault_rate, fault_kinds=["429", "503", "drop"], retry_after=0)
        rows = []
        for number in range(1, syncs + 1):
            before = emu.post_count(SOURCE)
            for count, oldest, newest in ARRIVALS:
                add(emu, count, oldest, newest)
            if number == busy_at:
                add(emu, busy, dt.timedelta(hours=1), dt.timedelta(0))
            arrived = emu.post_count(SOURCE) - before
            lookback = float(settings.get("discovery_lookback_minutes", 10))
            in_lookback = emu.post_count(SOURCE) - OLD_POSTS
            if dt.datetime.now(dt.UTC) - started > dt.timedelta(minutes=lookback):
                in_lookback = arrived  # not met at the default sizes (the run takes seconds)
            emu.clear_requests()
            ids, state, _ = tap_sync(workdir, state, config)
            searches = [r for r in emu.requests if r.path.startswith("/api/search")]
            repeats = len(ids) - len(set(ids) - known)
            missing = emu.post_count(SOURCE) - len(known | set(ids))
            known |= set(ids)
            rows.append(Sync(number, arrived, len(ids), repeats, missing,
                             sum(1 for r in searches if r.status == 200),
                             sum(1 for r in searches if r.status != 200),
                             math.ceil(in_lookback / 100), partition_bytes(state)))  # fmt: skip
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--syncs", type=int, default=16)
    parser.add_argument("--busy-at", type=int, default=8, help="the sync after the busy hour")
    parser.add_argument("--busy", type=int, default=3_000, help="posts of the busy hour")
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=JSON",
                        help="a tap setting, e.g. discovery_lookback_minutes=10")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args()
    settings = {}
    for item in args.setting:
        name, _, value = item.partition("=")
        settings[name] = json.loads(value)
    with tempfile.TemporaryDirectory(prefix="tap-data365-live-") as tmp:
        rows = soak(Path(tmp), args.syncs, args.busy_at, args.busy, args.fault_rate, settings)
    print("| sync | new posts | records emitted | repeats | not delivered | search requests "
          "(+ failed) | pages found within lookback | state bytes |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r.sync} | {r.arrived} | {r.emitted} | {r.repeats} | {r.missing} | "
              f"{r.search_requests} (+{r.failed_requests}) | {r.lookback_pages} | "
              f"{r.state_bytes:,} |")  # fmt: skip
    emitted = sum(r.emitted for r in rows)
    repeats = sum(r.repeats for r in rows)
    missing = sum(r.missing for r in rows)
    print(f"\ntotal: {emitted:,} records, {repeats:,} repeats "
          f"({100 * repeats / max(emitted, 1):.1f} %), "
          f"{missing} posts not delivered by the sync after they arrived")  # fmt: skip
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))


if __name__ == "__main__":
    main()
