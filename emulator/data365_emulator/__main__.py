"""``python -m data365_emulator`` / ``data365-emulator``: serve until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from data365_emulator import __version__
from data365_emulator.app import Emulator, check_loopback
from data365_emulator.arrivals import parse_lag, parse_rate, parse_shares
from data365_emulator.config import EmulatorConfig


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="data365-emulator",
        description=__doc__,
        # Every option's default is printed after its help.
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback only)")
    p.add_argument("--port", type=int, default=8765, help="port to listen on; 0 picks a free port")
    p.add_argument(
        "--api-key", default="test-key", help="the apikey header every request must send"
    )
    p.add_argument("--seed", type=int, default=365, help="random seed of the generated posts")
    p.add_argument("--scale", type=float, default=1.0, help="multiply seeded post counts")
    p.add_argument("--posts", type=int, default=None,
                   help="posts seeded in twitter_keywords, whatever --scale says")  # fmt: skip
    p.add_argument("--empty", action="store_true", help="no seeded posts")
    p.add_argument("--seed-tasks", action="store_true", help="complete tasks for seeded posts")
    p.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every answer")
    p.add_argument("--fault-rate", type=float, default=0.0,
                   help="share of requests answered with a fault (0..1)")  # fmt: skip
    p.add_argument("--fault-kinds", default="429,503,drop", help="comma list: 429,503,500,drop")
    p.add_argument("--retry-after", type=float, default=1.0,
                   help="seconds in the Retry-After header of 429/503 faults")  # fmt: skip
    p.add_argument("--max-in-flight", type=int, default=0,
                   help="429 + Retry-After beyond N requests at once (0: no limit)")  # fmt: skip
    _task_and_search_options(p)
    _live_options(p)
    p.add_argument("--verbose", action="store_true", help="log each request to stderr")
    p.add_argument("--version", action="version", version=f"data365-emulator {__version__}",
                   help="print the version and exit")  # fmt: skip
    p.add_argument("--odd-values", action="store_true",
                   help="every 7th seeded post in an odd shape (see variants.py)")  # fmt: skip
    return p


def _task_and_search_options(p: argparse.ArgumentParser) -> None:
    """The task lifecycle and the undocumented shapes of tasks and search answers."""
    p.add_argument("--finish-status", default="complete",
                   choices=("complete", "finished", "alternate"),
                   help="status of a finished task (alternate: both in turn)")  # fmt: skip
    p.add_argument("--polls-to-finish", type=int, default=2,
                   help="status reads of a running task before it finishes")  # fmt: skip
    p.add_argument("--posts-per-task", type=int, default=300, help="posts a finished task adds")
    p.add_argument("--rerun-posts", type=int, default=30, help="posts a task re-run adds")
    p.add_argument("--found-ranges", default="honour", choices=("honour", "ignore", "match_none"),
                   help="how content.found ranges are treated")  # fmt: skip
    p.add_argument("--doc-date-ranges", default="honour", choices=("honour", "ignore"),
                   help="how doc_date ranges are treated")  # fmt: skip
    p.add_argument("--date-precision", default="ms", choices=("ms", "us", "s"),
                   help="how finely dates are indexed: ms as the Search API")  # fmt: skip
    p.add_argument("--count-api", default="honour", choices=("honour", "absent", "wrong"),
                   help="POST /api/count: true totals, 404, or half the total")  # fmt: skip
    p.add_argument("--search-order", default="relevance",
                   choices=("relevance", "doc_date_desc", "doc_date_asc"),
                   help="order of search results")  # fmt: skip
    p.add_argument("--include-total", action="store_true",
                   help="search answers carry the total number of hits")  # fmt: skip
    p.add_argument("--task-id-key", default="id", choices=("id", "task_id", "taskId", "TaskId"),
                   help="the key task objects carry their id under")  # fmt: skip


def _live_options(p: argparse.ArgumentParser) -> None:
    """Posts found while the emulator runs (arrivals.py, live.py)."""
    p.add_argument(
        "--live-rate",
        default="0",
        help="posts found per second while running: N, N/s, N/min or N/h (0: off)",
    )
    p.add_argument(
        "--live-shares",
        default="fresh=40,late=25,very_late=5",
        help="relative weights of arrivals dated in the last hour (fresh), 2-7 days"
        " back (late) and 200-300 days back (very_late)",
    )
    p.add_argument(
        "--live-sources",
        default="twitter_keywords",
        help="comma list of the sources live arrivals go to, in turn",
    )
    p.add_argument(
        "--index-lag",
        default="0",
        help="live arrivals become searchable this long after content.found: 90, 90s, 2m, 1h,"
        " or a range drawn per arrival (deterministic per seed) such as 1m-15m (0: at once)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        check_loopback(args.host)
        cfg = EmulatorConfig(
            api_key=args.api_key, seed=args.seed, scale=args.scale, empty=args.empty,
            seed_tasks=args.seed_tasks, latency_ms=args.latency_ms, fault_rate=args.fault_rate,
            fault_kinds=tuple(k for k in args.fault_kinds.split(",") if k),
            retry_after=args.retry_after, finish_status=args.finish_status,
            polls_to_finish=args.polls_to_finish, posts_per_task=args.posts_per_task,
            search_order=args.search_order, include_total=args.include_total,
            task_id_key=args.task_id_key, verbose=args.verbose, rerun_posts=args.rerun_posts,
            found_ranges=args.found_ranges, doc_date_ranges=args.doc_date_ranges,
            odd_values=args.odd_values, max_in_flight=args.max_in_flight,
            count_api=args.count_api, date_precision=args.date_precision,
            live_rate=parse_rate(args.live_rate),
            live_shares=parse_shares(args.live_shares),
            live_sources=tuple(s for s in args.live_sources.split(",") if s),
            index_lag=parse_lag(args.index_lag),
        )  # fmt: skip
        if args.posts is not None:  # --scale applied to the other sources, not to this count
            counts = {**cfg.seed_counts(), "twitter_keywords": args.posts}
            cfg = cfg.replace({"seed_posts": counts, "scale": 1.0})
    except ValueError as exc:
        print(f"data365-emulator: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emulator = Emulator(cfg, host=args.host, port=args.port)
    emulator.indexes.warm()  # build seeded data before announcing readiness
    with emulator:
        print(f"emulator listening on {emulator.url}", flush=True)
        while not stop.wait(1.0):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
