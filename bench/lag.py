"""Index-lag benchmark: syncs back to back while posts arrive, on an index that lags.

    python bench/lag.py [--lag 0-15m] [--minutes 45] [--speed 20] [--rate 0.5]
                        [--tap-root DIR] [--setting NAME=JSON] [--rows]

The emulator holds 1,000 old posts in ``twitter_keywords``; a first sync reads them. Then
live arrivals are switched on (``--rate`` posts per emulated second: fresh, late and very
late, ``content.found`` = when found, no task), each becoming searchable ``--lag`` after its
``content.found`` (``--index-lag`` of the emulator: fixed, or drawn per post from a range),
and syncs run back to back, so posts arrive during them too, for ``--minutes`` of the
emulator's time. Then arrivals stop, the clock jumps past the largest lag and two more syncs
read what is left: every post is searchable by then, so a post never delivered is lost.

The emulator's clock runs ``--speed`` times faster than real time (a sync that takes a
second of real time spans ``--speed`` seconds of the emulator's), hours behind the tap's
clock so that every date is in the tap's past. ``--tap-root`` runs the tap from another
checkout (e.g. ``git archive <commit> tap_data365 | tar -x -C DIR``) for a before/after.

Printed: per scenario the syncs, the posts that arrived, lost (searchable at the end, never
delivered), repeats (records of posts delivered before), the largest state partition, the
syncs with the index-delay warning (and the last one), and the largest excess of the search
and count requests answered in a sync over the pages of the posts found within the
configured discovery lookback (``--rows``: each sync). Nothing is asserted here:
tests/search_results/test_index_lag.py asserts the bounds on a shorter run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncs import tap_sync

from data365_emulator import Emulator, EmulatorConfig
from data365_emulator.arrivals import parse_lag

API_KEY = "bench-key"
SOURCE = "twitter_keywords"
INDEX = "data365_" + SOURCE
OLD_POSTS = 1_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class FastClock:
    """The emulator's clock: ``speed`` times real time, from hours before now; ``jump``s."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.base = time.time() - 12 * 3600
        self.started = time.monotonic()
        self.jumped = 0.0

    def __call__(self) -> float:
        return self.base + (time.monotonic() - self.started) * self.speed + self.jumped


@dataclass
class Result:
    syncs: int = 0
    arrived: int = 0
    lost: int = 0
    emitted: int = 0
    repeats: int = 0
    max_state: int = 0
    warned_syncs: int = 0
    last_warning: str = ""
    max_excess: int = -(10**9)
    rows: list[str] = field(default_factory=list)


def partition(state: dict[str, Any]) -> dict[str, Any]:
    partitions = state["bookmarks"]["search_results"]["partitions"]
    return next(p for p in partitions if p["context"] == {"data_source": INDEX})


def found_since(emu: Emulator, mark: str | None, lookback: dt.timedelta) -> int:
    """Posts found within ``lookback`` of the found mark: what the discovery sweep must read."""
    if mark is None:
        return 0
    since = dt.datetime.fromisoformat(mark.replace("Z", "+00:00")) - lookback
    micros = (since - _EPOCH) // dt.timedelta(microseconds=1)
    return sum(1 for post in emu.indexes.get(SOURCE) if (post.date("content.found") or 0) >= micros)


def run(args: argparse.Namespace, settings: dict[str, Any], workdir: Path) -> Result:
    lag = parse_lag(args.lag)
    clock = FastClock(args.speed)
    config = {"api_key": API_KEY, "sources": [SOURCE], **settings}
    lookback = dt.timedelta(minutes=settings.get("discovery_lookback_minutes", 10))
    emulator = EmulatorConfig(api_key=API_KEY, seed_posts={SOURCE: OLD_POSTS}, index_lag=lag)
    out = Result()
    with Emulator(emulator, clock=clock) as emu:
        config["api_url"] = emu.url
        ids, state, _ = tap_sync(workdir, None, config, args.tap_root)
        delivered = set(ids)
        emu.configure(live_rate=args.rate)
        end = clock() + args.minutes * 60
        final_syncs = 0
        while final_syncs < 2:
            if clock() >= end and final_syncs == 0:
                emu.configure(live_rate=0)
                clock.jumped += lag[1] + 60
            final_syncs += clock() >= end
            pages = math.ceil(found_since(emu, partition(state).get("found_mark"), lookback) / 100)
            emu.clear_requests()
            ids, state, stderr = tap_sync(workdir, state, config, args.tap_root)
            reads = [r for r in emu.requests if r.status == 200
                     and r.path.startswith(("/api/search", "/api/count"))]  # fmt: skip
            warnings = [line for line in stderr.splitlines()
                        if "discovery_lookback_minutes" in line]  # fmt: skip
            repeats = len(ids) - len(set(ids) - delivered)
            delivered |= set(ids)
            size = len(json.dumps(partition(state)))
            out.syncs += 1
            out.emitted += len(ids)
            out.repeats += repeats
            out.max_state = max(out.max_state, size)
            out.max_excess = max(out.max_excess, len(reads) - pages)
            if warnings:
                out.warned_syncs += 1
                out.last_warning = warnings[-1].split("| ")[-1]
            out.rows.append(f"| {out.syncs} | {len(ids)} | {repeats} | {len(reads)} | {pages} "
                            f"| {size:,} | {len(warnings)} |")  # fmt: skip
        searchable = {post.doc_id for post in emu.indexes.get(SOURCE)}
        out.arrived = len(searchable) - OLD_POSTS
        out.lost = len(searchable - delivered)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lag", default="0-15m", help="the emulator's --index-lag")
    parser.add_argument("--minutes", type=float, default=45.0, help="emulated minutes")
    parser.add_argument("--speed", type=float, default=20.0, help="emulated s per real s")
    parser.add_argument("--rate", type=float, default=0.5, help="posts per emulated second")
    parser.add_argument("--tap-root", type=Path, help="run the tap from this checkout")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=JSON",
                        help="a tap setting, e.g. discovery_lookback_minutes=10")  # fmt: skip
    parser.add_argument("--rows", action="store_true", help="print each sync too")
    args = parser.parse_args()
    settings = {}
    for item in args.setting:
        name, _, value = item.partition("=")
        settings[name] = json.loads(value)
    with tempfile.TemporaryDirectory(prefix="tap-data365-lag-") as tmp:
        r = run(args, settings, Path(tmp))
    if args.rows:
        print("| sync | records | repeats | requests answered | pages in lookback | state "
              "bytes | delay warnings |\n|---|---|---|---|---|---|---|")  # fmt: skip
        print("\n".join(r.rows))
    print("| lag | tap | syncs | posts arrived | lost | repeats | max state bytes | syncs "
          "warned | requests - pages (max per sync) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    tap = str(args.tap_root or "this checkout")
    print(f"| {args.lag} | {tap} | {r.syncs} | {r.arrived:,} | {r.lost} | {r.repeats} "
          f"({100 * r.repeats / max(r.emitted, 1):.2f} %) | {r.max_state:,} | "
          f"{r.warned_syncs} | {r.max_excess} |")  # fmt: skip
    if r.last_warning:
        print(f"\nlast warning: {r.last_warning}")


if __name__ == "__main__":
    main()
