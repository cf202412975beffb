"""Process CPU of the tap from several checkouts and of the pager, alternating, in one run.

    python bench/versus.py POSTS RUNS CHECKOUT [CHECKOUT ...]

For a before/after table: e.g. ``git archive ea71d41 | tar -x -C /tmp/before`` and the same
for HEAD, then ``python bench/versus.py 250000 3 /tmp/before /tmp/after``. One emulator with
POSTS posts in twitter_keywords; each round runs every checkout's tap (its directory first
on the path: ``python -m`` puts the working directory there, so each runs from its own) and
then bench/pager.py; the first round warms up and is not counted. Prints the median CPU
(user + system, from the child's rusage), per post, and the ratio to the pager's.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

from run import CHILD_ENV, Emulator, pager_command, tap_command, timed


def main() -> None:
    posts, runs, checkouts = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    workdir = Path(f"/tmp/tap-data365-versus-{os.getpid()}")
    cpu: dict[str, list[float]] = {name: [] for name in [*checkouts, "pager"]}
    with Emulator(posts) as emu:
        commands = {}
        for number, checkout in enumerate(checkouts):
            (workdir / str(number)).mkdir(parents=True, exist_ok=True)
            commands[checkout] = tap_command(emu, workdir / str(number))
        for round_number in range(runs + 1):
            for checkout in checkouts:
                CHILD_ENV["PYTHONPATH"] = checkout
                os.chdir(checkout)
                used = timed(commands[checkout])[2]
                cpu[checkout].extend([used] if round_number else [])
            CHILD_ENV.pop("PYTHONPATH", None)
            used = timed(pager_command(emu))[2]
            cpu["pager"].extend([used] if round_number else [])
    pager = statistics.median(cpu["pager"])
    for name, values in cpu.items():
        median = statistics.median(values)
        per_post = median / posts * 1e6
        print(
            f"{posts:,} posts | {name}: CPU {median:.2f} s, {per_post:.1f} us/post, "
            f"{median / pager:.2f}x the pager | runs {[round(v, 2) for v in values]}"
        )


if __name__ == "__main__":
    main()
