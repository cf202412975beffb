"""Helpers of the emulator's own tests (no tests here): a keep-alive client, task bodies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

KEY = "test-key"
TWITTER = "data365_twitter_keywords"
PROVIDER = "/api/data-providers/data365"
ROOT = Path(__file__).resolve().parents[1]


class Client:
    """A keep-alive session bound to one emulator."""

    def __init__(self, url: str, key: str | None = KEY) -> None:
        self.url = url
        self.session = requests.Session()
        if key is not None:
            self.session.headers["apikey"] = key

    def get(self, path: str, **kw):
        return self.session.get(self.url + path, timeout=30, **kw)

    def post(self, path: str, payload=None, **kw):
        return self.session.post(self.url + path, json=payload, timeout=30, **kw)

    def put(self, path: str, payload=None, **kw):
        return self.session.put(self.url + path, json=payload, timeout=30, **kw)

    def delete(self, path: str, **kw):
        return self.session.delete(self.url + path, timeout=30, **kw)

    def search(self, query: str, sources=(TWITTER,), size=100, start=0, **extra):
        body = {"query": {"from": start, "size": size, "query": query,
                          "data_sources": list(sources), **extra}}  # fmt: skip
        return self.post("/api/search", body)

    def hits(self, query: str, sources=(TWITTER,), **extra) -> list[dict[str, Any]]:
        """Every result of a query (it must have at most 10,000)."""
        out: list[dict[str, Any]] = []
        for start in range(0, 10_000, 100):
            response = self.search(query, sources, start=start, **extra)
            assert response.status_code == 200, response.text
            page = response.json()["results"]
            out.extend(page)
            if len(page) < 100:
                return out
        raise AssertionError("query has more than 10,000 hits")

    def create(self, source: str, *tasks: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.post(f"{PROVIDER}/{source}", {"tasks": list(tasks)})
        assert response.status_code == 200, response.text
        created: list[dict[str, Any]] = response.json()["tasks"]
        return created


def task(
    value="hellokitty", from_date="2023-09-01", to_date="2023-09-12", **more
) -> dict[str, Any]:
    return {"value": value, "from_date": from_date, "to_date": to_date, **more}
