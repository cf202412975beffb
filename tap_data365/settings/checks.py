"""The tap's settings checked before any request is sent (declared in ``declaration.py``).

``check_settings`` adds to ``CONFIG_SCHEMA`` the rules JSON Schema cannot
say (loopback-only plain HTTP, known source names, parseable dates) and reports the first
problem as one line naming the setting.
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import jsonschema

from tap_data365.errors import ConfigError
from tap_data365.normalize import KNOWN_SOURCES, format_timestamp, parse_timestamp
from tap_data365.settings.declaration import (
    CONFIG_SCHEMA,
    DEFAULT_API_URL,
    MAX_PAGE_SIZE,
    SDK_SETTINGS,
)

_INTEGER_RANGES = {
    "page_size": (1, MAX_PAGE_SIZE),
    "lookback_minutes": (0, 60 * 24 * 366),
    "discovery_lookback_minutes": (0, 60 * 24 * 366),
    "boundary_zone_max_posts": (0, 5_000_000),
    "max_concurrency": (1, 16),
    "max_retries": (0, 20),
    # Whole numbers: Meltano 4.4 turns a `decimal` setting given as text (an environment
    # variable, `meltano config set`) into a Decimal it then cannot write as JSON.
    "request_timeout": (1, 3600),
    "max_retry_wait": (0, 24 * 3600),
    "max_requests_per_second": (1, 10_000),
}


def check_settings(config: Mapping[str, Any], *, skip_tasks: bool = False) -> None:
    """Raise ConfigError naming the first setting at fault; send nothing.

    ``skip_tasks``: the setup command validates ``tasks`` itself, reporting every problem.
    """
    _check_api_key(config.get("api_key"))
    check_api_url(str(config.get("api_url") or DEFAULT_API_URL))
    start_date = config.get("start_date")
    if start_date not in (None, ""):
        try:
            parse_timestamp(start_date)
        except ValueError:
            raise ConfigError(
                f"setting start_date is not a date-time: {start_date!r} "
                "(expected e.g. 2024-01-01T00:00:00Z)"
            ) from None
    _check_end_date(config)
    _check_sources(config.get("sources"))
    _check_numbers(config)
    query = config.get("search_query")
    if query is not None and (not isinstance(query, str) or not query.strip()):
        raise ConfigError("setting search_query must be a non-empty Lucene query (use * for all)")
    _check_schema({k: v for k, v in config.items() if not (skip_tasks and k == "tasks")})


def _check_api_key(api_key: object) -> None:
    if api_key is not None and not isinstance(api_key, str):
        raise ConfigError("setting api_key must be a string (the Datastreamer API key)")
    if not api_key or not api_key.strip():
        raise ConfigError("setting api_key is required (the Datastreamer API key)")
    if any(ch.isspace() or not ch.isprintable() for ch in api_key):
        # Sent as a header: a newline copied with the key would fail deep inside http.client.
        raise ConfigError(
            "setting api_key contains spaces, line breaks or control characters "
            "(check for a trailing newline)"
        )


def _check_sources(sources: object) -> None:
    if sources is None:
        return
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise ConfigError("setting sources must be a list of sub-source names")
    unknown = [s for s in sources if s.removeprefix("data365_") not in KNOWN_SOURCES]
    if unknown:
        raise ConfigError(
            f"setting sources names unknown Data365 sub-source(s): {', '.join(unknown)} "
            f"(known: {', '.join(KNOWN_SOURCES)})"
        )


def _check_numbers(config: Mapping[str, Any]) -> None:
    for name, (low, high) in _INTEGER_RANGES.items():
        value = config.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(
                f"setting {name} must be an integer from {low} to {high}, got {value!r}"
            )
    for name in ("request_timeout", "max_retry_wait", "max_requests_per_second"):
        number = config.get(name)
        if number is not None and (
            isinstance(number, bool) or not isinstance(number, int | float) or number <= 0
        ):
            raise ConfigError(f"setting {name} must be a positive number, got {number!r}")


def _check_end_date(config: Mapping[str, Any]) -> None:
    end_date = config.get("end_date")
    if end_date in (None, ""):
        return
    try:
        end = parse_timestamp(end_date)
    except ValueError:
        raise ConfigError(
            f"setting end_date is not a date-time: {end_date!r} "
            "(expected e.g. 2024-07-01T00:00:00Z)"
        ) from None
    start = parse_timestamp(config.get("start_date") or None)
    if start is not None and end is not None and end <= start:
        raise ConfigError("setting end_date must be later than start_date")


def _check_schema(config: Mapping[str, Any]) -> None:
    """The most relevant JSON Schema violation, as one line naming the setting.

    Never quotes the offending value: it could be a secret.
    """
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(CONFIG_SCHEMA).iter_errors(dict(config))
    )
    if error is None:
        return
    name = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path).lstrip(".")
    if error.validator == "required":
        missing = error.message.split(" ")[0].strip("'")
        raise ConfigError(f"setting {'.'.join(filter(None, [name, missing]))} is required")
    if error.validator == "type":
        expected = error.validator_value
        wanted = [expected] if isinstance(expected, str) else [t for t in expected if t != "null"]
        raise ConfigError(f"setting {name or '(top level)'} must be of type {' or '.join(wanted)}")
    raise ConfigError(f"setting {name or '(top level)'} is invalid (rule {error.validator})")


def check_api_url(url: str) -> None:
    """https anywhere; plain http only to a loopback host (the key travels in a header)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"setting api_url is not an http(s) URL: {url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"setting api_url uses plain http:// for non-loopback host {parts.hostname}; "
            "use https:// (the API key would travel in clear text)"
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_connected(configured: list[str], connected: list[str]) -> None:
    """Stop on a configured sub-source the account does not have: syncing it would find
    nothing, silently, whatever the API answers for it."""
    missing = [source for source in configured if source not in connected]
    if missing:
        names = ", ".join(repr(source) for source in missing)
        verb = "is" if len(missing) == 1 else "are"
        raise ConfigError(
            f"Data365 sub-source {names} {verb} not connected to this Datastreamer account "
            f"(connected: {', '.join(connected) or 'none'}); check the sources setting"
        )


def settings_warnings(config: Mapping[str, Any]) -> list[str]:
    """Settings that are accepted but probably not what the user meant, one line each."""
    known = [*CONFIG_SCHEMA["properties"], *SDK_SETTINGS]
    warnings = []
    for name in config:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        warnings.append(f"setting {name} is not a setting of tap-data365 and is ignored{hint}")
    try:
        start = parse_timestamp(config.get("start_date"))
    except ValueError:
        start = None  # check_settings reports it
    if start is not None and start > dt.datetime.now(dt.UTC):
        warnings.append(
            f"setting start_date {format_timestamp(start)} is in the future: "
            "no post is read until then"
        )
    return warnings
