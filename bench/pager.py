"""The baseline: the best plain requests + json program a user could write to read a source.

    python bench/pager.py API_URL API_KEY INDEX START_DATE

It never reads a post twice. From START_DATE to now it asks the Count API how many posts
each ``doc_date`` window holds and halves a window until it holds at most 10,000 (what
from/size paging can reach), so no window ever overflows and is read again; counts are cheap
next to pages of posts. Then each window is paged with from/size, one request at a time on
one keep-alive session: the known count says how many pages to ask for (no empty request
after a full last page), and a short page stops a window early. Windows are split at whole
milliseconds (the API's date precision), so a split never falls inside a millisecond the
server cannot tell apart. Every post is written as one JSON line to stdout, the number of
search and count requests to stderr. No retries, no state, no schema: the least work that
still reads every post, to measure the tap against.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import requests

PAGE = 100
#: from + size may not exceed 10,000 (the API's paging limit).
MAX_WINDOW = 10_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def stamp(ms: int) -> str:
    """Milliseconds since the epoch → the API's date format."""
    moment = _EPOCH + dt.timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def main() -> None:
    url, api_key, index, start_date = sys.argv[1:5]
    session = requests.Session()
    session.headers["apikey"] = api_key
    out = sys.stdout
    sent = {"search": 0, "count": 0}

    def call(path: str, body: dict[str, Any], kind: str) -> Any:
        sent[kind] += 1
        response = session.post(url + path, json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def query(start: int, end: int) -> str:
        return f'doc_date:["{stamp(start)}" TO "{stamp(end)}"}}'

    def count(start: int, end: int) -> int:
        body = {"query": {"query": query(start, end), "data_sources": [index]}}
        total = call("/api/count", body, "count")["total"]
        return int(total["value"] if isinstance(total, dict) else total)

    def read(start: int, end: int, posts: int) -> None:
        for offset in range(0, posts, PAGE):
            body = {"query": {"from": offset, "size": PAGE, "query": query(start, end),
                              "data_sources": [index]}}  # fmt: skip
            page = call("/api/search?keep_alive_seconds=60", body, "search")["results"]
            for post in page:
                out.write(json.dumps(post))
                out.write("\n")
            if len(page) < PAGE:
                break

    def sync(start: int, end: int, posts: int) -> None:
        if posts == 0:
            return
        if posts <= MAX_WINDOW or end - start < 2:
            read(start, end, posts)
            return
        middle = (start + end) // 2
        first = count(start, middle)
        sync(start, middle, first)
        sync(middle, end, posts - first)

    moment = dt.datetime.fromisoformat(start_date.replace("Z", "+00:00"))
    start = (moment - _EPOCH) // dt.timedelta(milliseconds=1)
    end = (dt.datetime.now(dt.UTC) - _EPOCH) // dt.timedelta(milliseconds=1)
    sync(start, end, count(start, end))
    out.flush()
    print(f"pager requests: {sent['search']} searches, {sent['count']} counts", file=sys.stderr)


if __name__ == "__main__":
    main()
