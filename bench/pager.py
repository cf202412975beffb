"""The baseline: a plain requests + json pager over a given list of search requests.

    python bench/pager.py API_URL API_KEY PAGES_JSON

Sends each recorded search body in order, one at a time, on one keep-alive session, and
writes every post as one JSON line to stdout. No retries, no state, no schema: the least
work that still delivers the same posts, to measure the tap against.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import requests


def main() -> None:
    url, api_key, pages_path = sys.argv[1:4]
    pages = json.loads(Path(pages_path).read_text(encoding="utf-8"))
    session = requests.Session()
    session.headers["apikey"] = api_key
    out = sys.stdout
    for body in pages:
        response = session.post(f"{url}/api/search?keep_alive_seconds=60", json=body, timeout=60)
        response.raise_for_status()
        for post in response.json()["results"]:
            out.write(json.dumps(post))
            out.write("\n")
    out.flush()


if __name__ == "__main__":
    main()
