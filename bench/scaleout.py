"""Scale-out benchmark: `data365_all` with its sub-source steps at once vs one after another.

    python bench/scaleout.py [--sub-sources 5] [--posts 3000] [--latency-ms 100]
                             [--page-size 100] [--tap-concurrency 8] [--project DIR]

Needs what the pipeline tests need: `MELTANO_BIN` (Meltano with its S3/PostgreSQL extras) and
a PostgreSQL server in the libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE),
as `scripts/test.sh` exports them. Starts `data365-emulator` (``--latency-ms`` per request)
with ``--posts`` posts in each of N sub-sources (through its control plane), copies this
Meltano project and installs it (or reuses ``--project``), then runs `dagster job execute -f
orchestration/definitions.py -j data365_all` over those N sub-sources twice, each from an
empty state into its own schema: with `max_concurrent` N + 1 (every sub-source step and the
`sources` step at once) and 1 (the same steps one after another). The tap's `page_size` and
`max_concurrency` come from the options. Prints both wall times and their ratio, one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("twitter_keywords", "tiktok_hashtag", "instagram_profile", "facebook_profile",
           "linkedin_company")  # fmt: skip
COPIED = ("meltano.yml", "pyproject.toml", "README.md", "tap_data365", "schemas", "orchestration")
API_KEY = "emulator-key"


@contextmanager
def emulator(latency_ms: float) -> Iterator[str]:
    """`data365-emulator` on a free port, no seeded post; yields its URL."""
    exe = Path(sys.executable).parent / "data365-emulator"
    args = [str(exe), "--port", "0", "--api-key", API_KEY, "--empty",
            "--latency-ms", str(latency_ms)]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if "listening on" not in line:
            sys.exit(f"scaleout: the emulator did not start: {line!r}")
        yield line.rsplit(" ", 1)[-1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def add_posts(url: str, source: str, count: int) -> None:
    body = {"source": source, "count": count, "from_date": "2024-01-01", "to_date": "2024-12-31"}
    request = urllib.request.Request(
        f"{url}/_emulator/posts", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=600) as answer:
        answer.read()


def install_project(meltano: str, into: Path) -> Path:
    """A copy of this repository's Meltano project (its meltano.yml installs the tap from it)."""
    into.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, into / name)
    subprocess.run([meltano, "install"], cwd=into, check=True, capture_output=True)
    return into


def run_job(project: Path, work: Path, env: dict[str, str], at_once: int) -> float:
    """Wall seconds of one `data365_all` run with ``at_once`` steps at most in flight."""
    label = f"at-once-{at_once}"
    config = work / f"{label}.yaml"
    config.write_text(
        f"execution:\n  config:\n    multiprocess:\n      max_concurrent: {at_once}\n"
    )
    (work / label).mkdir()
    full = {
        **env,
        "DAGSTER_HOME": str(work / label),
        "MELTANO_DATABASE_URI": f"sqlite:///{work / label / 'meltano.db'}",
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": f"bench_{uuid.uuid4().hex[:8]}",
    }
    dagster = Path(sys.executable).parent / "dagster"
    args = [str(dagster), "job", "execute", "-f", "orchestration/definitions.py", "-j",
            "data365_all", "-c", str(config)]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=project, env=full, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"scaleout: data365_all failed ({label}):\n{proc.stderr[-4000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sub-sources", type=int, default=5, choices=range(1, 6))
    parser.add_argument("--posts", type=int, default=3000, help="posts per sub-source")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--page-size", type=int, default=100, help="the tap's page_size")
    parser.add_argument("--tap-concurrency", type=int, default=8, help="its max_concurrency")
    parser.add_argument("--project", type=Path, help="an installed copy to reuse")
    args = parser.parse_args()
    meltano = os.environ.get("MELTANO_BIN") or shutil.which("meltano")
    if not meltano or not os.environ.get("PGHOST"):
        sys.exit("scaleout: set MELTANO_BIN and the PG* variables (see the docstring)")
    sources = SOURCES[: args.sub_sources]
    with tempfile.TemporaryDirectory(prefix="scaleout-") as tmp:
        work = Path(tmp)
        project = args.project or install_project(meltano, work / "project")
        with emulator(args.latency_ms) as url:
            for source in sources:
                add_posts(url, source, args.posts)
            env = {
                **os.environ,
                "MELTANO_BIN": meltano,
                "MELTANO_ENVIRONMENT": "emulator",
                "DATA365_EMULATOR_URL": url,
                "TAP_DATA365_SOURCES": json.dumps(list(sources)),
                "TAP_DATA365_PAGE_SIZE": str(args.page_size),
                "TAP_DATA365_MAX_CONCURRENCY": str(args.tap_concurrency),
            }
            parallel = run_job(project, work, env, len(sources) + 1)
            serial = run_job(project, work, env, 1)
    print(f"sub-sources: {len(sources)} ({', '.join(sources)}), {args.posts} posts each, "
          f"{args.latency_ms:g} ms per request, page_size {args.page_size}, "
          f"max_concurrency {args.tap_concurrency}")  # fmt: skip
    print(f"data365_all, sub-sources at once:       {parallel:7.1f} s")
    print(f"data365_all, one after another:         {serial:7.1f} s")
    print(f"ratio (one after another / at once):    {serial / parallel:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
