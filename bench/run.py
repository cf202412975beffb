"""Benchmark: every figure of the performance table in one command, side by side in one run.

    python bench/run.py [--runs 5] [--slow-runs 3] [--posts 25000,250000] [--only cpu,...]

Full ``search_results`` syncs of one seeded sub-source (twitter_keywords) by the tap and by
the best plain ``requests`` + ``json`` program a user could write (bench/pager.py: every post
read once), each in its own process, against the emulator in a third. Their runs alternate
in one invocation and medians are compared, so both see the same load (on a shared 2-core
machine it moves between runs): only the ratios of one run mean anything.

Figures (``--only`` picks some):
  cpu       per size in ``--posts``: process CPU (user + system of the child, from its
            rusage) and wall time, tap and pager side by side, in total and per post,
            medians of ``--runs`` alternating runs after one warm-up run of each; the
            warm-up run's output is checked (every post once) and gives the final STATE's
            size and the tap's peak RSS
  requests  search requests the tap makes / the minimum (posts // 100 + 1); its Count API
            requests (sizing.py) are shown beside, and in a second ratio
  wall100   wall time, 100 ms per request: tap / pager (``--slow-runs``)
  throttled wall time behind a server that serves one request at a time (429 with
            ``Retry-After: 1`` beyond it), 50 ms per request: tap / pager, and the share of
            the tap's requests answered 429 (``--slow-runs``)
  memory    the tap's peak RSS at the largest of ``--posts`` / at the first (``--slow-runs``)
  faults    posts/s with 10 % injected faults (429 / 503 / dropped connection)
Other figures use the first of ``--posts``. Output goes to /dev/null; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
API_KEY = "bench-key"
SOURCE = "twitter_keywords"
INDEX = "data365_" + SOURCE
START_DATE = "2024-01-01T00:00:00Z"
#: The children run as an installed program would: with its modules' bytecode cached
#: (pip compiles it on install), whatever PYTHONDONTWRITEBYTECODE says here; the first run
#: writes the caches.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
FIGURES = ("cpu", "requests", "wall100", "throttled", "memory", "faults")


class Emulator:
    """The emulator in its own process, for one figure."""

    def __init__(self, posts: int | None, *flags: str) -> None:
        """``posts``: that many in twitter_keywords; None: the emulator's own seeded data."""
        sized = [] if posts is None else ["--posts", str(posts)]
        command = [sys.executable, "-m", "data365_emulator", "--port", "0",
                   "--api-key", API_KEY, *sized, *flags]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening on" not in line:
            self.process.kill()
            raise SystemExit(f"emulator did not start: {line!r}")
        self.url = line.strip().rsplit(" ", 1)[-1]

    def control(self, method: str, path: str) -> Any:
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def searches(self, path: str = "/api/search") -> list[dict[str, Any]]:
        log = self.control("GET", "/_emulator/requests")
        return [entry for entry in log if entry["path"].startswith(path)]

    def clear(self) -> None:
        self.control("DELETE", "/_emulator/requests")

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait()


def timed(command: list[str], stdout_path: str = os.devnull) -> tuple[float, int, float]:
    """Wall seconds, peak RSS (KiB) and CPU seconds (user + system, all its threads) of one
    child process; a failure stops the bench."""
    # stderr to a file, not a pipe: a pipe read only at the end would fill up and block
    # the child on its log lines.
    with Path(stdout_path).open("wb") as sink, tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=sink, stderr=errors, env=CHILD_ENV)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"command failed: {command}\n{tail}")
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def tap_command(emu: Emulator, workdir: Path, **settings: Any) -> list[str]:
    """The tap syncing only search_results of the one source, default settings otherwise."""
    config = {"api_key": API_KEY, "api_url": emu.url, "sources": [SOURCE],
              "start_date": START_DATE, **settings}  # fmt: skip
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    base = [sys.executable, "-m", "tap_data365", "--config", str(config_path)]
    catalog = json.loads(subprocess.run([*base, "--discover"], capture_output=True, env=CHILD_ENV,
                                        check=True).stdout)  # fmt: skip
    return [*base, "--catalog", str(search_results_catalog(catalog, workdir))]


def search_results_catalog(catalog: dict[str, Any], workdir: Path) -> Path:
    """The discovered catalog with only search_results selected, written to workdir."""
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] == "search_results"
    catalog_path = workdir / "catalog.json"
    catalog_path.write_text(json.dumps(catalog))
    return catalog_path


def pager_command(emu: Emulator) -> list[str]:
    return [sys.executable, str(HERE / "pager.py"), emu.url, API_KEY, INDEX, START_DATE]


def alternate(
    tap: list[str], pager: list[str], runs: int, after: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Alternating runs; medians of wall time and peak RSS for each, and their ratio.

    ``after(name)`` is called after each run of ``"tap"`` or ``"pager"``.
    """
    times: dict[str, list[float]] = {"tap": [], "pager": []}
    rss: dict[str, list[int]] = {"tap": [], "pager": []}
    cpu: dict[str, list[float]] = {"tap": [], "pager": []}
    for _ in range(runs):
        for name, command in (("tap", tap), ("pager", pager)):
            seconds, peak, used = timed(command)
            times[name].append(seconds)
            rss[name].append(peak)
            cpu[name].append(used)
            if after is not None:
                after(name)
    tap_s, pager_s = statistics.median(times["tap"]), statistics.median(times["pager"])
    return {
        "tap_seconds": tap_s,
        "pager_seconds": pager_s,
        "ratio": tap_s / pager_s,
        "tap_rss_mib": statistics.median(rss["tap"]) / 1024,
        "pager_rss_mib": statistics.median(rss["pager"]) / 1024,
        "tap_runs": times["tap"],
        "pager_runs": times["pager"],
        "tap_cpu_seconds": statistics.median(cpu["tap"]),
        "pager_cpu_seconds": statistics.median(cpu["pager"]),
        "cpu_ratio": statistics.median(cpu["tap"]) / statistics.median(cpu["pager"]),
    }


def posts_in(path: Path) -> tuple[int, int, int, int]:
    """RECORD messages, distinct ids, STATE messages and the final STATE's size in an output,
    counted in a child (bench/outputs.py): a child's peak RSS counts the memory of the parent
    it was forked from, so a million ids held here would show in every later figure."""
    command = [sys.executable, str(HERE / "outputs.py"), str(path)]
    counted = subprocess.run(command, capture_output=True, check=True, text=True).stdout
    records, distinct, states, state_bytes = json.loads(counted)
    return records, distinct, states, state_bytes


def fig_requests(posts: int, workdir: Path, runs: int) -> dict[str, Any]:
    with Emulator(posts) as emu:
        tap = tap_command(emu, workdir)
        emu.clear()
        out = workdir / "tap.jsonl"
        timed(tap, str(out))
        tap_requests = len(emu.searches())
        tap_counts = len(emu.searches("/api/count"))
        emu.clear()
        timed(pager_command(emu))
        pager_requests = len(emu.searches())
    posts, distinct, states, state_bytes = posts_in(out)
    minimum = posts // 100 + 1
    return {"posts": posts, "distinct_posts": distinct, "tap_requests": tap_requests,
            "tap_count_requests": tap_counts, "pager_requests": pager_requests,
            "minimum": minimum, "ratio": tap_requests / minimum,
            "ratio_with_counts": (tap_requests + tap_counts) / minimum, "state_messages": states,
            "final_state_bytes": state_bytes}  # fmt: skip


def fig_wall(latency_ms: int, posts: int, workdir: Path, runs: int) -> dict[str, Any]:
    with Emulator(posts, "--latency-ms", str(latency_ms)) as emu:
        return {"latency_ms": latency_ms,
                **alternate(tap_command(emu, workdir), pager_command(emu), runs)}  # fmt: skip


def fig_throttled(posts: int, workdir: Path, runs: int) -> dict[str, Any]:
    flags = ("--latency-ms", "50", "--max-in-flight", "1", "--retry-after", "1")
    with Emulator(posts, *flags) as emu:
        statuses: list[int] = []

        def count(name: str) -> None:
            if name == "tap":  # only the tap's requests; the pager never sees a 429
                statuses.extend(entry["status"] for entry in emu.searches())
            emu.clear()

        emu.clear()
        result = alternate(tap_command(emu, workdir), pager_command(emu), runs, after=count)
    refused = sum(1 for status in statuses if status == 429)
    return {**result, "tap_requests": len(statuses), "refused": refused,
            "refused_share": refused / max(1, len(statuses))}  # fmt: skip


def fig_memory(posts: int, large_posts: int, workdir: Path, runs: int) -> dict[str, Any]:
    peaks: dict[int, list[int]] = {posts: [], large_posts: []}
    with Emulator(posts) as small, Emulator(large_posts) as large:
        small_tap = tap_command(small, workdir / "small")
        large_tap = tap_command(large, workdir / "large")
        for _ in range(runs):
            for key, tap in ((posts, small_tap), (large_posts, large_tap)):
                peaks[key].append(timed(tap)[1])
    small_mib = statistics.median(peaks[posts]) / 1024
    large_mib = statistics.median(peaks[large_posts]) / 1024
    return {"small_posts": posts, "large_posts": large_posts,
            "small_rss_mib": small_mib, "large_rss_mib": large_mib,
            "ratio": large_mib / small_mib}  # fmt: skip


def fig_cpu(sizes: list[int], workdir: Path, runs: int) -> list[dict[str, Any]]:
    """Per size: a checked warm-up run of each program, then alternating measured runs."""
    results = []
    for posts in sizes:
        with Emulator(posts) as emu:
            tap, pager = tap_command(emu, workdir), pager_command(emu)
            out = workdir / "tap.jsonl"
            _, tap_rss, _ = timed(tap, str(out))
            records, distinct, states, state_bytes = posts_in(out)
            out.unlink()
            timed(pager, str(out))
            with out.open() as lines:
                pager_posts = sum(1 for _ in lines)
            out.unlink()
            measured = alternate(tap, pager, runs)
        results.append({"posts": posts, "tap_records": records, "tap_distinct": distinct,
                        "pager_posts": pager_posts, "state_messages": states,
                        "final_state_bytes": state_bytes, "warmup_tap_rss_mib": tap_rss / 1024,
                        **measured})  # fmt: skip
        print(report_cpu(results[-1]), flush=True)
    return results


def report_cpu(r: dict[str, Any]) -> str:
    per_post = 1e6 / r["posts"]
    return (
        f"| {r['posts']:,} posts | CPU {r['tap_cpu_seconds']:.2f} s "
        f"({r['tap_cpu_seconds'] * per_post:.1f} us/post), wall {r['tap_seconds']:.2f} s | "
        f"CPU {r['pager_cpu_seconds']:.2f} s ({r['pager_cpu_seconds'] * per_post:.1f} us/post), "
        f"wall {r['pager_seconds']:.2f} s | CPU **{r['cpu_ratio']:.2f}x**, wall "
        f"{r['ratio']:.2f}x | tap: {r['tap_records']} records, {r['tap_distinct']} distinct; "
        f"pager {r['pager_posts']} posts; final STATE {r['final_state_bytes']} bytes; "
        f"peak RSS tap {r['tap_rss_mib']:.0f} MiB, pager {r['pager_rss_mib']:.0f} MiB |"
    )


def fig_faults(posts: int, workdir: Path, runs: int) -> dict[str, Any]:
    flags = ("--fault-rate", "0.1", "--fault-kinds", "429,503,drop", "--retry-after", "0")
    with Emulator(posts, *flags) as emu:
        out = workdir / "faults.jsonl"
        seconds, _, _ = timed(tap_command(emu, workdir, max_retries=10), str(out))
    _, distinct, _, _ = posts_in(out)
    return {"posts": distinct, "seconds": seconds, "posts_per_second": distinct / seconds}


def report(name: str, r: dict[str, Any]) -> str:
    if name == "requests":
        return (f"| search requests / minimum ({r['minimum']}) | {r['tap_requests']} "
                f"+ {r['tap_count_requests']} count requests ({r['distinct_posts']} posts, "
                f"{r['state_messages']} STATE messages, the last {r['final_state_bytes']} "
                f"bytes) | pager {r['pager_requests']} | **{r['ratio']:.3f}x** (with counts "
                f"{r['ratio_with_counts']:.3f}x) | <= 1.02x |")  # fmt: skip
    if name == "wall100":
        return (f"| wall, {r['latency_ms']} ms per request | {r['tap_seconds']:.2f} s | "
                f"{r['pager_seconds']:.2f} s | **{r['ratio']:.2f}x** | <= 0.15x |")  # fmt: skip
    if name == "throttled":
        return (f"| wall behind a one-in-flight server, 50 ms | {r['tap_seconds']:.2f} s, "
                f"{r['refused']}/{r['tap_requests']} = **{100 * r['refused_share']:.1f} %** "
                f"429 | {r['pager_seconds']:.2f} s | **{r['ratio']:.2f}x** | "
                "<= 1.3x, <= 5 % |")  # fmt: skip
    if name == "memory":
        return (f"| peak RSS, {r['large_posts']:,} posts vs {r['small_posts']:,} | "
                f"{r['large_rss_mib']:.0f} MiB | "
                f"{r['small_rss_mib']:.0f} MiB | **{r['ratio']:.2f}x** | <= 1.15x |")  # fmt: skip
    return (f"| 10 % faults (429/503/drop) | {r['posts']} posts, {r['seconds']:.2f} s "
            f"({r['posts_per_second']:.0f} posts/s) | | | |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="alternating runs, no latency")
    parser.add_argument("--slow-runs", type=int, default=3, help="runs of the slower figures")
    parser.add_argument(
        "--posts",
        default="25000,250000",
        help="comma list of sub-source sizes (cpu, memory; others: the first)",
    )
    parser.add_argument("--only", default=",".join(FIGURES), help="comma list of figures")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args()
    chosen = [name for name in args.only.split(",") if name]
    unknown = sorted(set(chosen) - set(FIGURES))
    if unknown:
        raise SystemExit(f"unknown figures: {', '.join(unknown)} (known: {', '.join(FIGURES)})")
    sizes = [int(size) for size in args.posts.split(",") if size]
    first = sizes[0]
    runners: dict[str, Callable[[Path], Any]] = {
        "cpu": lambda w: fig_cpu(sizes, w, args.runs),
        "requests": lambda w: fig_requests(first, w, 1),
        "wall100": lambda w: fig_wall(100, first, w, args.slow_runs),
        "throttled": lambda w: fig_throttled(first, w, args.slow_runs),
        "memory": lambda w: fig_memory(first, sizes[-1], w, args.slow_runs),
        "faults": lambda w: fig_faults(first, w, 1),
    }
    results: dict[str, Any] = {"runs": args.runs, "slow_runs": args.slow_runs, "posts": sizes}
    print("| figure | tap | baseline | ratio | notes |\n|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory(prefix="tap-data365-bench-") as tmp:
        for name in FIGURES:
            if name not in chosen:
                continue
            workdir = Path(tmp) / name
            for sub in (workdir, workdir / "small", workdir / "large"):
                sub.mkdir(parents=True, exist_ok=True)
            results[name] = runners[name](workdir)
            if name != "cpu":  # cpu prints a line per size as it goes
                print(report(name, results[name]), flush=True)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
