"""The ``--state`` file, checked before the sync starts: one line naming the key at fault.

A state written by an older or newer tap, edited by hand or truncated must not end in a
traceback halfway through a sync. ``PARTITION_KEYS`` lists what a search_results partition
may hold and how each value is checked; a new state key is one more entry there.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tap_data365.errors import ConfigError
from tap_data365.normalize import parse_timestamp
from tap_data365.search_results.boundary import DIGEST

Check = Callable[[Any], str | None]


def _timestamp(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return f"must be a date-time string, got {type(value).__name__}"
    try:
        parse_timestamp(value)
    except ValueError:
        return f"is not a readable date-time: {value[:40]!r}"
    return None


def _catchup(value: Any) -> str | None:
    if not isinstance(value, list):
        return f"must be a list of [start, end] pairs, got {type(value).__name__}"
    for pair in value:
        if not isinstance(pair, list) or len(pair) != 2:
            return "must be a list of [start, end] pairs"
        for moment in pair:
            problem = _timestamp(moment) if moment is not None else "holds a null date"
            if problem:
                return problem
    return None


def _tasks_seen(value: Any) -> str | None:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return "must be an object of task id → updated_at strings"
    return None


def _seen(value: Any) -> str | None:
    if not isinstance(value, dict) or not all(
        isinstance(v, list)
        and len(v) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in v)
        for v in value.values()
    ):
        return "must be an object of id hash → [doc_date, found] epoch seconds"
    return None


def _zone(value: Any) -> str | None:
    shape = "must be a list of [doc_date end, found end, base64 id hashes] groups"
    if not isinstance(value, list):
        return shape
    for group in value:
        if not (
            isinstance(group, list)
            and len(group) == 3
            and all(isinstance(n, int) and not isinstance(n, bool) for n in group[:2])
            and isinstance(group[2], str)
        ):
            return shape
        try:
            raw = base64.b64decode(group[2], validate=True)
        except (binascii.Error, ValueError):
            return f"{shape}: {group[2][:20]!r}… is not base64"
        if len(raw) % DIGEST:
            return f"{shape}: a group's hashes are not whole {DIGEST}-byte digests"
    return None


def _string(value: Any) -> str | None:
    return None if value is None or isinstance(value, str) else "must be a string"


#: Keys of a search_results state partition and their checks; unknown keys pass through.
PARTITION_KEYS: dict[str, Check] = {
    "replication_key": _string,
    "replication_key_value": _timestamp,
    "starting_replication_value": _timestamp,
    "catchup": _catchup,
    "tasks_seen": _tasks_seen,
    "catchup_found_from": _timestamp,
    "found_mark": _timestamp,
    "seen": _seen,
    "zone": _zone,
}


def read_state_file(path: Path) -> dict[str, Any]:
    """The state file as a dict, or ConfigError in one line naming the file and the key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read state file {path}: {exc.strerror or exc}") from None
    if not text.strip():
        return {}  # what Meltano passes before the first sync
    try:
        state = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"state file {path} is not valid JSON: {exc}") from None
    problem = check_state(state)
    if problem:
        raise ConfigError(f"state file {path}: {problem}")
    return state  # type: ignore[no-any-return]


def check_state(state: Any) -> str | None:
    """The first problem of a Singer state for this tap, or None."""
    if not isinstance(state, dict):
        return "must hold a JSON object"
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        return "bookmarks must be an object"
    for stream, stream_state in bookmarks.items():
        where = f"bookmarks.{stream}"
        if not isinstance(stream_state, dict):
            return f"{where} must be an object"
        partitions = stream_state.get("partitions", [])
        if not isinstance(partitions, list):
            return f"{where}.partitions must be a list"
        parts = [(where, stream_state)] + [
            (f"{where}.partitions[{i}]", p) for i, p in enumerate(partitions)
        ]
        for place, part in parts:
            problem = _check_partition(place, part)
            if problem:
                return problem
    return None


def _check_partition(place: str, part: Any) -> str | None:
    if not isinstance(part, Mapping):
        return f"{place} must be an object"
    context = part.get("context", {})
    if not isinstance(context, Mapping):
        return f"{place}.context must be an object"
    for key, check in PARTITION_KEYS.items():
        if part.get(key) is None:
            continue  # absent (or null): nothing stored yet
        problem = check(part[key])
        if problem:
            return f"{place}.{key} {problem}"
    return None
