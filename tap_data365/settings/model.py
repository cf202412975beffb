"""The settings as one frozen, typed object, built once from the merged config.

Every default comes from the declaration (``declaration.py``); nothing else in the tap
reads the raw config or knows a default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tap_data365.normalize import parse_timestamp
from tap_data365.settings.declaration import CONFIG_SCHEMA

#: Each declared default, by setting name: the one place a default is written is the
#: declaration; this is a read of it.
DEFAULTS: dict[str, Any] = {
    name: schema["default"]
    for name, schema in CONFIG_SCHEMA["properties"].items()
    if "default" in schema
}


def _default(name: str) -> Any:
    return DEFAULTS[name]


@dataclass(frozen=True)
class ApiSettings:
    """Where the API is and how patient to be with it: what the transport and limiter need."""

    url: str
    #: Empty when no key was given: only discovery and ``--about`` get that far without one.
    key: str
    timeout: float = float(_default("request_timeout"))
    max_retries: int = int(_default("max_retries"))
    max_retry_wait: float = float(_default("max_retry_wait"))
    max_concurrency: int = int(_default("max_concurrency"))
    max_requests_per_second: float | None = None


@dataclass(frozen=True)
class Settings:
    """Everything the tap and the setup command read from their settings."""

    api: ApiSettings
    #: The configured sub-source short names (no ``data365_`` prefix), or None for every
    #: connected one.
    sources: tuple[str, ...] | None
    start_date: dt.datetime | None
    end_date: dt.datetime | None
    search_query: str
    page_size: int
    lookback: dt.timedelta
    discovery_lookback: dt.timedelta
    boundary_zone_max_posts: int
    #: As declared, unvalidated: ``tap-data365 setup`` validates them, reporting every problem.
    tasks: object
    data365_token: str | None
    #: Whether the SDK writes BATCH messages (``batch_config``) instead of records.
    batch: bool

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """The settings of a config already checked (``check_settings``), defaults applied.

        Also takes a config with no ``api_key``: discovery and ``--about`` need none.
        """

        def value(name: str) -> Any:
            given = config.get(name)
            return _default(name) if given is None and name in DEFAULTS else given

        rate = config.get("max_requests_per_second")
        api = ApiSettings(
            url=str(value("api_url") or _default("api_url")).rstrip("/"),
            key=str(config.get("api_key") or ""),
            timeout=float(value("request_timeout")),
            max_retries=int(value("max_retries")),
            max_retry_wait=float(value("max_retry_wait")),
            max_concurrency=int(value("max_concurrency")),
            max_requests_per_second=float(rate) if rate else None,
        )
        sources = config.get("sources")
        return cls(
            api=api,
            sources=tuple(dict.fromkeys(s.removeprefix("data365_") for s in sources))
            if sources
            else None,
            start_date=parse_timestamp(config.get("start_date") or None),
            end_date=parse_timestamp(config.get("end_date") or None),
            search_query=str(value("search_query") or "*"),
            page_size=int(value("page_size")),
            lookback=dt.timedelta(minutes=int(value("lookback_minutes"))),
            discovery_lookback=dt.timedelta(minutes=int(value("discovery_lookback_minutes"))),
            boundary_zone_max_posts=int(value("boundary_zone_max_posts")),
            tasks=config.get("tasks"),
            data365_token=config.get("data365_token") or None,
            batch=bool(config.get("batch_config")),
        )
