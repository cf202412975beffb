"""Benchmark: a full search_results sync of the 25k-post source vs a plain pager.

    python bench/run.py [--runs 5] [--latencies 0,100] [--scale 1]

For each emulated latency it starts the emulator (its own process), runs the tap once to
record the exact page requests it makes, then alternates tap runs and plain-pager runs over
those same requests (the pager: requests + json, one JSON line per post, sequential), and
prints the median wall times, their ratio, peak memory (max RSS) of each, requests made vs
the minimum (one per 100 posts), and the size of the final STATE. Both programs write to
/dev/null. Nothing here is asserted: the figures are for the notes.
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
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
API_KEY = "bench-key"
SOURCE = "twitter_keywords"


def start_emulator(
    latency_ms: int, scale: float, extra: list[str]
) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable,
        "-m",
        "tap_data365.emulator",
        "--port",
        "0",
        "--api-key",
        API_KEY,
        "--latency-ms",
        str(latency_ms),
        "--scale",
        str(scale),
        *extra,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"emulator did not start: {line!r}")
    return process, line.strip().rsplit(" ", 1)[-1]


def control(url: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def timed(command: list[str], stdout_path: str = os.devnull) -> tuple[float, int, bytes]:
    """Wall seconds, peak RSS (KiB) and stdout tail of one child process."""
    with Path(stdout_path).open("wb") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
    stderr = process.stderr.read() if process.stderr else b""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {command}\n{stderr.decode(errors='replace')[-2000:]}")
    return elapsed, usage.ru_maxrss, stderr


def tap_command(config_path: Path) -> list[str]:
    return [sys.executable, "-m", "tap_data365", "--config", str(config_path)]


def bench_latency(latency_ms: int, runs: int, scale: float, workdir: Path) -> dict[str, Any]:
    emulator, url = start_emulator(latency_ms, scale, [])
    try:
        config = {
            "api_key": API_KEY,
            "api_url": url,
            "sources": [SOURCE],
            "start_date": "2024-01-01T00:00:00Z",
        }
        config_path = workdir / "config.json"
        config_path.write_text(json.dumps(config))
        catalog_path = workdir / "catalog.json"
        catalog = json.loads(
            subprocess.run(
                [*tap_command(config_path), "--discover"], capture_output=True, check=True
            ).stdout
        )
        for entry in catalog["streams"]:
            for item in entry["metadata"]:
                if item["breadcrumb"] == []:
                    item["metadata"]["selected"] = entry["tap_stream_id"] == "search_results"
        catalog_path.write_text(json.dumps(catalog))
        tap = [*tap_command(config_path), "--catalog", str(catalog_path)]

        # One recorded run: the requests the tap makes, its output and its final state.
        control(url, "DELETE", "/_emulator/requests")
        out_path = workdir / "tap-output.jsonl"
        timed(tap, str(out_path))
        log = control(url, "GET", "/_emulator/requests")
        searches = [entry for entry in log if entry["path"].startswith("/api/search")]
        pages_path = workdir / "pages.json"
        pages_path.write_text(json.dumps([entry["body"] for entry in searches]))
        records = states = 0
        final_state = ""
        with out_path.open() as output:
            for line in output:
                if line.startswith('{"type":"RECORD"'):
                    records += 1
                elif '"STATE"' in line[:30]:
                    states += 1
                    final_state = json.dumps(json.loads(line)["value"])
        pager = [sys.executable, str(HERE / "pager.py"), url, API_KEY, str(pages_path)]

        tap_times: list[float] = []
        pager_times: list[float] = []
        tap_rss: list[int] = []
        pager_rss: list[int] = []
        for _ in range(runs):
            seconds, rss, _ = timed(tap)
            tap_times.append(seconds)
            tap_rss.append(rss)
            seconds, rss, _ = timed(pager)
            pager_times.append(seconds)
            pager_rss.append(rss)
        return {
            "latency_ms": latency_ms,
            "posts": records,
            "search_requests": len(searches),
            "minimum_requests": -(-records // 100),
            "state_messages": states,
            "final_state_bytes": len(final_state),
            "tap_seconds": statistics.median(tap_times),
            "pager_seconds": statistics.median(pager_times),
            "ratio": statistics.median(tap_times) / statistics.median(pager_times),
            "tap_posts_per_second": records / statistics.median(tap_times),
            "tap_peak_rss_mib": max(tap_rss) / 1024,
            "pager_peak_rss_mib": max(pager_rss) / 1024,
            "tap_runs": tap_times,
            "pager_runs": pager_times,
        }
    finally:
        emulator.terminate()
        emulator.wait()


def bench_faults(scale: float, workdir: Path) -> dict[str, Any]:
    """Posts/s of a full sync with 10 % injected faults (429 / 503 / dropped connection)."""
    emulator, url = start_emulator(
        0, scale, ["--fault-rate", "0.1", "--fault-kinds", "429,503,drop", "--retry-after", "0"]
    )
    try:
        config_path = workdir / "faults.json"
        config_path.write_text(
            json.dumps(
                {
                    "api_key": API_KEY,
                    "api_url": url,
                    "sources": [SOURCE],
                    "start_date": "2024-01-01T00:00:00Z",
                    "max_retries": 10,
                }
            )
        )
        out_path = workdir / "faults-output.jsonl"
        seconds, rss, _ = timed(tap_command(config_path), str(out_path))
        with out_path.open() as output:
            posts = {
                json.loads(line)["record"]["id"]
                for line in output
                if '"stream":"search_results"' in line and line.startswith('{"type":"RECORD"')
            }
        return {
            "posts": len(posts),
            "seconds": seconds,
            "posts_per_second": len(posts) / seconds,
            "peak_rss_mib": rss / 1024,
        }
    finally:
        emulator.terminate()
        emulator.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="alternating runs per latency")
    parser.add_argument("--latencies", default="0,100", help="emulated latencies in ms")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the seeded posts")
    parser.add_argument("--no-faults", action="store_true", help="skip the fault-injection run")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    results: dict[str, Any] = {"runs": args.runs, "scale": args.scale, "latencies": []}
    with tempfile.TemporaryDirectory(prefix="tap-data365-bench-") as tmp:
        workdir = Path(tmp)
        for latency in (int(x) for x in args.latencies.split(",") if x.strip()):
            result = bench_latency(latency, args.runs, args.scale, workdir)
            results["latencies"].append(result)
            print(
                f"latency {latency:>4} ms: tap {result['tap_seconds']:.2f} s, pager "
                f"{result['pager_seconds']:.2f} s, ratio {result['ratio']:.2f}x | "
                f"{result['posts']} posts, {result['tap_posts_per_second']:.0f} posts/s | "
                f"requests {result['search_requests']} (minimum {result['minimum_requests']}) | "
                f"peak RSS tap {result['tap_peak_rss_mib']:.0f} MiB, "
                f"pager {result['pager_peak_rss_mib']:.0f} MiB | "
                f"final state {result['final_state_bytes']} bytes",
                flush=True,
            )
        if not args.no_faults:
            faults = bench_faults(args.scale, workdir)
            results["faults"] = faults
            print(
                f"10% faults: {faults['posts']} posts in {faults['seconds']:.2f} s "
                f"({faults['posts_per_second']:.0f} posts/s), "
                f"peak RSS {faults['peak_rss_mib']:.0f} MiB",
                flush=True,
            )
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
