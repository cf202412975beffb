"""Wall time at a fixed latency per request: the tap (before and after a change) / the pager.

    python bench/latency.py [--latency-ms 100] [--runs 3] [--scale 1] [--before DIR]
                            [--count-api honour|absent]

One emulator (its own process, ``--latency-ms`` on every answer, the seeded 25,000-post
source times ``--scale``) serves alternating runs of the sequential pager (``bench/pager.py``,
one request at a time) and of the tap syncing ``search_results`` with default settings
(``max_concurrency`` 8). ``--before DIR``: also the tap of another checkout (``git worktree
add DIR <commit>``), run with ``PYTHONPATH=DIR``, alternating with this one. Medians of
wall time, the ratios tap / pager, the search requests of the last run of each, its peak RSS,
and whether the two taps wrote the same RECORD and STATE messages.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from run import API_KEY, CHILD_ENV, Emulator, search_results_catalog

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SOURCE = "twitter_keywords"
INDEX = "data365_" + SOURCE
START_DATE = "2024-01-01T00:00:00Z"


def requests_since_clear(emu: Emulator) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = emu.control("GET", "/_emulator/requests")
    emu.clear()
    return log


def timed(command: list[str], out: Path, env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child; a failure stops the bench. The child
    runs in ``out``'s directory: ``python -m`` puts the working directory before PYTHONPATH,
    so a run from the repository would import this checkout's tap whatever PYTHONPATH says."""
    with out.open("wb") as sink, tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=sink, stderr=errors, env=env, cwd=out.parent)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise SystemExit(f"failed: {command}\n{errors.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss


def tap_command(emu: Emulator, workdir: Path, env: dict[str, str]) -> list[str]:
    """The tap of ``env``'s PYTHONPATH syncing search_results of the one source."""
    config = {"api_key": API_KEY, "api_url": emu.url, "sources": [SOURCE],
              "start_date": START_DATE}  # fmt: skip
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    base = [sys.executable, "-m", "tap_data365", "--config", str(config_path)]
    probe = "import tap_data365; print(tap_data365.__file__)"
    where = subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True,
                           env=env, cwd=workdir, text=True)  # fmt: skip
    if not where.stdout.startswith(env["PYTHONPATH"]):
        raise SystemExit(f"the tap of {env['PYTHONPATH']} is not the one imported: {where.stdout}")
    found = subprocess.run(
        [*base, "--discover"], capture_output=True, check=True, env=env, cwd=workdir
    )
    catalog = json.loads(found.stdout)
    return [*base, "--catalog", str(search_results_catalog(catalog, workdir))]


def digests(path: Path) -> tuple[str, str]:
    """Digests of the RECORD (without the moment of extraction) and STATE messages of a tap's
    output: the bench keeps no messages, as a forked child starts with the parent's RSS."""
    records, states = hashlib.sha256(), hashlib.sha256()
    with path.open() as lines:
        for line in lines:
            message = json.loads(line)
            message.pop("time_extracted", None)
            kind = message.get("type")
            if kind in ("RECORD", "STATE"):
                digest = records if kind == "RECORD" else states
                digest.update(json.dumps(message, sort_keys=True).encode())
    return records.hexdigest(), states.hexdigest()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--runs", type=int, default=3, help="alternating runs of each")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the seeded posts")
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with")
    parser.add_argument(
        "--count-api",
        choices=("honour", "absent"),
        default="honour",
        help="absent: windows are sized by probing (more, smaller windows)",
    )
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    flags = ["--latency-ms", str(args.latency_ms), "--scale", str(args.scale),
             "--count-api", args.count_api]  # fmt: skip
    with Emulator(None, *flags) as emu, tempfile.TemporaryDirectory() as tmp:
        results = _measure(emu, Path(tmp), args)
    pager = statistics.median(results["pager"]["times"])
    print(f"{args.latency_ms:g} ms per request, Count API {args.count_api}, "
          f"{args.runs} alternating runs (medians)")  # fmt: skip
    for name, result in results.items():
        wall = statistics.median(result["times"])
        print(f"  {name:<7} {wall:7.2f} s  {wall / pager:6.3f}x pager  "
              f"{result['searches']} searches  peak RSS {result['rss'] / 1024:.0f} MiB  "
              f"runs {' '.join(f'{t:.2f}' for t in result['times'])}")  # fmt: skip
    if "before" in results:
        same = [results["before"][k] == results["after"][k] for k in ("records", "states")]
        print(f"  before/after: same RECORD lines {same[0]}, same STATE lines {same[1]}")


def _measure(emu: Emulator, tmp: Path, args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    pager = [sys.executable, str(HERE / "pager.py"), emu.url, API_KEY, INDEX, START_DATE]
    # Bytecode cached, as bench/run.py runs its children (CHILD_ENV): as an installed program.
    commands: dict[str, tuple[list[str], dict[str, str]]] = {"pager": (pager, dict(CHILD_ENV))}
    checkouts = {"after": REPO} if args.before is None else {"before": args.before, "after": REPO}
    for name, checkout in checkouts.items():
        env = {**CHILD_ENV, "PYTHONPATH": str(checkout.resolve())}
        (tmp / name).mkdir()
        commands[name] = (tap_command(emu, tmp / name, env), env)
    results: dict[str, dict[str, Any]] = {name: {"times": []} for name in commands}
    requests_since_clear(emu)
    for _ in range(args.runs):
        for name, (command, env) in commands.items():
            out = tmp / f"{name}.out"
            seconds, rss = timed(command, out, env)
            log = requests_since_clear(emu)
            result = results[name]
            result["times"].append(seconds)
            result["rss"] = rss
            result["searches"] = sum(1 for entry in log if entry["path"] == "/api/search")
            if name != "pager":
                result["records"], result["states"] = digests(out)
    return results


if __name__ == "__main__":
    main()
