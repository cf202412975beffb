"""Steady-state benchmark: what each incremental sync costs, against what is new.

    python bench/steady.py [--rounds 3] [--json]

Starts the emulator (25,000 posts over 2024 in ``twitter_keywords``), runs a first full sync
of ``search_results``, then per scenario several incremental syncs, each from the previous
sync's final STATE, after adding new posts the way they appear in practice:

- ``repeating``: a repeating task over all of 2024 (its first run collected the history) runs
  again before every sync and finds ``rerun_posts`` (30) new posts dated anywhere in 2024;
  also on a server that ignores ``content.found`` ranges and on one that matches nothing on
  them (the fallback through task ranges);
- ``arrivals``: 10 posts dated in the 5 minutes after the previous ones, before every sync;
- ``untasked``: 40 posts dated months back appear without any task (also once on a server
  that ignores ``content.found`` ranges, where the fallback cannot see them).

For every incremental sync it prints the new posts, the records emitted, the search
requests, the STATE messages and the final state's size; for the full sync the largest
number of posts between two STATE messages. Nothing is asserted here:
tests/search_results/test_incremental.py asserts the bounds, this prints the figures for
docs/incremental.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from data365_emulator import Emulator, EmulatorConfig
from tap_data365.search_results.boundary import zone_size

API_KEY = "bench-key"
SOURCE = "twitter_keywords"
INDEX = "data365_" + SOURCE


@dataclass
class Sync:
    scenario: str
    new_posts: int
    emitted: int
    search_requests: int
    state_messages: int
    max_posts_between_states: int
    state_bytes: int
    seen_entries: int
    warning: bool


def run_sync(emu: Emulator, workdir: Path, state: dict[str, Any] | None,
             scenario: str, new_posts: int) -> tuple[Sync, dict[str, Any]]:  # fmt: skip
    config = {"api_key": API_KEY, "api_url": emu.url, "sources": [SOURCE]}
    (workdir / "config.json").write_text(json.dumps(config))
    command = [sys.executable, "-m", "tap_data365", "--config", str(workdir / "config.json")]
    if state is not None:
        (workdir / "state.json").write_text(json.dumps(state))
        command += ["--state", str(workdir / "state.json")]
    emu.clear_requests()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"tap failed: {done.stderr[-2000:]}")
    emitted = states = gap = widest = 0
    final: dict[str, Any] = {}
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD" and message["stream"] == "search_results":
            emitted += 1
            gap += 1
        elif message["type"] == "STATE":
            states += 1
            widest, gap = max(widest, gap), 0
            final = message["value"]
    partitions = final["bookmarks"]["search_results"]["partitions"]
    partition = next(p for p in partitions if p["context"] == {"data_source": INDEX})
    searches = sum(1 for r in emu.requests if r.path.startswith("/api/search"))
    result = Sync(scenario, new_posts, emitted, searches, states, widest,
                  len(json.dumps(partition)), zone_size(partition.get("zone")),
                  "does not filter" in done.stderr)  # fmt: skip
    return result, final


def repeating(workdir: Path, rounds: int, found_ranges: str) -> list[Sync]:
    with Emulator(EmulatorConfig(api_key=API_KEY, posts_per_task=0)) as emu:
        task_id = emu.add_task(SOURCE, "covid", "2024-01-01", "2024-12-31", status="complete",
                               update_interval=3600)  # fmt: skip
        first, state = run_sync(emu, workdir, None, "full sync", emu.post_count(SOURCE))
        results = [first]
        emu.configure(found_ranges=found_ranges)
        for _ in range(rounds):
            before = emu.post_count(SOURCE)
            emu.tasks.start(emu.tasks.find(SOURCE, task_id), emu.config)
            emu.finish_running_tasks()
            label = "repeating" if found_ranges == "honour" else f"repeating, {found_ranges}"
            result, state = run_sync(emu, workdir, state, label, emu.post_count(SOURCE) - before)
            results.append(result)
        return results


def arriving(workdir: Path, rounds: int, kind: str, found_ranges: str = "honour") -> list[Sync]:
    with Emulator(EmulatorConfig(api_key=API_KEY)) as emu:
        _, state = run_sync(emu, workdir, None, "full sync", emu.post_count(SOURCE))
        emu.configure(found_ranges=found_ranges)
        label = kind if found_ranges == "honour" else f"{kind}, {found_ranges}"
        results = []
        clock = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
        for _ in range(rounds):
            if kind == "arrivals":
                count, first, last = 10, clock, clock + dt.timedelta(minutes=5)
                clock = last
            else:
                count, first, last = 40, dt.datetime(2024, 3, 1), dt.datetime(2024, 4, 30)
            emu.add_posts(SOURCE, count, first.isoformat(), last.isoformat())
            result, state = run_sync(emu, workdir, state, label, count)
            results.append(result)
        return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="incremental syncs per scenario")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    results: list[Sync] = []
    with tempfile.TemporaryDirectory(prefix="tap-data365-steady-") as tmp:
        workdir = Path(tmp)
        for mode in ("honour", "ignore", "match_none"):
            runs = repeating(workdir, args.rounds, mode)
            results.extend(runs if mode == "honour" else runs[1:])
        results.extend(arriving(workdir, args.rounds, "arrivals"))
        results.extend(arriving(workdir, args.rounds, "untasked"))
        # The fallback's documented limit: no task finished, so nothing reads those dates.
        results.extend(arriving(workdir, 1, "untasked", "ignore"))
    print("| scenario | new posts | records emitted | search requests | STATEs | "
          "max posts between STATEs | state bytes | boundary ids | fallback warning |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r.scenario} | {r.new_posts} | {r.emitted} | {r.search_requests} | "
              f"{r.state_messages} | {r.max_posts_between_states} | {r.state_bytes} | "
              f"{r.seen_entries} | {'yes' if r.warning else 'no'} |")  # fmt: skip
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
