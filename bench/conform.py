"""Benchmark: what fitting posts to the typed schema (conform.py) costs per post.

    python bench/conform.py [--posts 25000] [--repeats 5]

In one process, over the emulator's seeded twitter_keywords posts: decode the JSON page bodies,
shape each post (search_post) and encode it, with and without the schema
conformer; prints the best time per post of each and their difference. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from data365_emulator.seed import seeded_posts
from tap_data365.search_results.hits import search_post
from tap_data365.streams.conform import RecordConformer

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "search_results.json"


def best_per_post(raw: bytes, count: int, step: Callable[[Any], Any], repeats: int) -> float:
    decode, encode = msgspec.json.Decoder().decode, msgspec.json.Encoder().encode
    best = float("inf")
    for _ in range(repeats):
        docs = decode(raw)
        started = time.perf_counter()
        for doc in docs:
            encode(step(search_post(doc, "data365_twitter_keywords").record))
        best = min(best, time.perf_counter() - started)
    return best / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=25_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    posts = seeded_posts(365, "twitter_keywords", args.posts)
    raw = b"[" + b",".join(p.encoded for p in posts) + b"]"
    conform = RecordConformer(json.loads(SCHEMA.read_text()))
    plain = best_per_post(raw, len(posts), lambda record: record, args.repeats)
    typed = best_per_post(raw, len(posts), conform, args.repeats)
    print(
        f"{len(posts)} posts: decode+shape+encode {plain:.2f} us/post, "
        f"with conform {typed:.2f} us/post (+{typed - plain:.2f} us/post)"
    )


if __name__ == "__main__":
    main()
