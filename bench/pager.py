"""The baseline: a plain requests + json pager reading a source sequentially in 30-day windows.

    python bench/pager.py API_URL API_KEY INDEX START_DATE [--days 30]

From START_DATE to now, one ``doc_date`` window after another, each paged with from/size
until a short page; a window still full at the last reachable offset (from 9,900) is read
again as two halves. One request at a time on one keep-alive session, every post written as
one JSON line to stdout, the number of requests to stderr. No retries, no state, no schema:
the least work that still reads every post, to measure the tap against.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

import requests

PAGE = 100
LAST_FROM = 9_900


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("api_key")
    parser.add_argument("index")
    parser.add_argument("start_date")
    parser.add_argument("--days", type=int, default=30)
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    session = requests.Session()
    session.headers["apikey"] = args.api_key
    out = sys.stdout
    sent = 0

    def page(start: dt.datetime, end: dt.datetime, offset: int) -> list[dict[str, Any]]:
        nonlocal sent
        query = f'doc_date:["{stamp(start)}" TO "{stamp(end)}"}}'
        body = {"query": {"from": offset, "size": PAGE, "query": query,
                          "data_sources": [args.index]}}  # fmt: skip
        response = session.post(
            f"{args.url}/api/search?keep_alive_seconds=60", json=body, timeout=60
        )
        sent += 1
        response.raise_for_status()
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def read(start: dt.datetime, end: dt.datetime) -> None:
        pages: list[list[dict[str, Any]]] = []
        for offset in range(0, LAST_FROM + PAGE, PAGE):
            posts = page(start, end, offset)
            pages.append(posts)
            if len(posts) < PAGE:
                break
        else:  # still full at the last reachable offset: more than the API can page
            middle = start + (end - start) / 2
            read(start, middle)
            read(middle, end)
            return
        for posts in pages:
            for post in posts:
                out.write(json.dumps(post))
                out.write("\n")

    start = dt.datetime.fromisoformat(args.start_date.replace("Z", "+00:00"))
    now = dt.datetime.now(dt.UTC)
    step = dt.timedelta(days=args.days)
    while start < now:
        read(start, start + step)
        start += step
    out.flush()
    print(f"pager requests: {sent}", file=sys.stderr)


if __name__ == "__main__":
    main()
