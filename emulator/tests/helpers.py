"""Helpers of the emulator's own tests (no tests here): a keep-alive client, task bodies,
the documented sources and a timestamp reader of their own.

Nothing here comes from the tap: the emulator stands for the real API, and its tests check it
against the API's documentation, not against the code it is used to test.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests

KEY = "test-key"
TWITTER = "data365_twitter_keywords"
PROVIDER = "/api/data-providers/data365"
#: The emulator's distribution folder (emulator/): the command-line tests run from it.
ROOT = Path(__file__).resolve().parents[1]
#: The sub-sources the Datastreamer connector documents (seed page, section 3), in its order.
DOCUMENTED_SOURCES = (
    "facebook_hashtag", "facebook_keywords_latest", "facebook_keywords_top", "facebook_profile",
    "instagram_hashtag", "instagram_location", "instagram_profile",
    "linkedin_company", "linkedin_keywords", "linkedin_member",
    "tiktok_hashtag", "tiktok_keywords", "tiktok_music", "tiktok_profile",
    "twitter_keywords", "twitter_profile",
)  # fmt: skip
_EPOCH = re.compile(r"^\d+(\.\d+)?$")
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")


def when(value: object) -> dt.datetime:
    """A timestamp the test expects to be readable, as an aware UTC datetime.

    ISO 8601 with or without zone (none means UTC), any fraction precision, plain dates, and
    epoch seconds or milliseconds: the spellings the API documents.
    """
    text = str(value).strip()
    assert value is not None, "no timestamp"
    assert text, "empty timestamp"
    if (isinstance(value, int | float) and not isinstance(value, bool)) or _EPOCH.match(text):
        number = float(text)
        moment = dt.datetime.fromtimestamp(number / 1000 if number >= 1e11 else number, dt.UTC)
    else:
        try:
            moment = dt.datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", text))
        except ValueError:
            raise AssertionError(f"unreadable timestamp {value!r}") from None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


class Client:
    """A keep-alive session bound to one emulator."""

    def __init__(self, url: str, key: str | None = KEY) -> None:
        self.url = url
        self.session = requests.Session()
        if key is not None:
            self.session.headers["apikey"] = key

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.url + path, timeout=30, **kw)

    def post(self, path: str, payload: object = None, **kw: Any) -> requests.Response:
        return self.session.post(self.url + path, json=payload, timeout=30, **kw)

    def put(self, path: str, payload: object = None, **kw: Any) -> requests.Response:
        return self.session.put(self.url + path, json=payload, timeout=30, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.session.delete(self.url + path, timeout=30, **kw)

    def search(
        self,
        query: str,
        sources: Iterable[object] = (TWITTER,),
        size: object = 100,
        start: object = 0,
        **extra: Any,
    ) -> requests.Response:
        body = {"query": {"from": start, "size": size, "query": query,
                          "data_sources": list(sources), **extra}}  # fmt: skip
        return self.post("/api/search", body)

    def hits(
        self, query: str, sources: Iterable[object] = (TWITTER,), **extra: Any
    ) -> list[dict[str, Any]]:
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
    value: object = "hellokitty",
    from_date: object = "2023-09-01",
    to_date: object = "2023-09-12",
    **more: object,
) -> dict[str, Any]:
    return {"value": value, "from_date": from_date, "to_date": to_date, **more}
