"""Pure functions for the Datastreamer API's undocumented shapes.

Nothing here talks HTTP. The tap's streams and the setup command both read sources, tasks,
statuses and timestamps through these functions, so there is one place that knows every
spelling the API has been seen (or guessed) to use.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

from tap_data365.errors import ShapeError

#: The Data365 sub-sources the Datastreamer connector documents (seed page, section 3).
KNOWN_SOURCES: tuple[str, ...] = (
    *("facebook_hashtag", "facebook_keywords_latest", "facebook_keywords_top", "facebook_profile"),
    *("instagram_hashtag", "instagram_location", "instagram_profile"),
    *("linkedin_company", "linkedin_keywords", "linkedin_member"),
    *("tiktok_hashtag", "tiktok_keywords", "tiktok_music", "tiktok_profile"),
    *("twitter_keywords", "twitter_profile"),
)

SEARCH_INDEX_PREFIX = "data365_"

#: Statuses after which a task's posts are searchable. The seed page names the first two.
DONE_STATUSES = frozenset({"complete", "finished", "completed", "succeeded", "success", "done"})
#: Statuses that end a task without data.
FAILED_STATUSES = frozenset({"fail", "failed", "error", "canceled", "cancelled", "unknown"})
#: Statuses of a task that is started and collecting (upstream Data365 calls collecting
#: "pending"); such a task needs no start. Anything neither active, done nor failed
#: ("created", "new", "", ...) is a task that was never started.
ACTIVE_STATUSES = frozenset(
    {"running", "pending", "started", "queued", "in_progress", "processing", "collecting"}
)

_SOURCE_LIST_KEYS = ("data_sources", "sources", "data", "items", "results")
_TASK_LIST_KEYS = ("tasks", "data", "items", "results")
_TASK_OBJECT_KEYS = ("task", "data", "result", "item")
_SOURCE_NAME_KEYS = ("name", "source", "data_source", "id", "key", "value")
_TASK_ID_KEYS = ("id", "task_id", "taskId", "TaskId", "taskID", "_id")
_STATUS_KEYS = ("status", "task_status", "taskStatus", "state", "job_state")
_CREATED_KEYS = ("created", "created_at", "createdAt", "create_time", "date_created")
_UPDATED_KEYS = (
    *("updated", "updated_at", "updatedAt", "last_updated", "modified", "modified_at"),
    *("finished_at", "completed_at"),
)

#: One fixed-width UTC format for every timestamp the tap emits or bookmarks: string
#: comparison then orders them correctly (the SDK compares bookmarks as strings).
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

_EPOCH_DIGITS = re.compile(r"^\d{10,13}$")


# ---------------------------------------------------------------------------- timestamps


def parse_timestamp(value: object) -> dt.datetime | None:
    """Parse any timestamp spelling the API uses into an aware UTC datetime.

    Accepts ISO 8601 with or without zone (no zone means UTC), any fraction precision,
    ``Z`` or offsets, plain dates, and epoch seconds or milliseconds (numbers or digit
    strings). Returns None for empty values; raises ValueError for anything else.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, bool):
        msg = f"not a timestamp: {value!r}"
        raise ValueError(msg)  # noqa: TRY004  (callers handle one error type for bad input)
    elif isinstance(value, int | float):
        parsed = _from_epoch(float(value))
    elif isinstance(value, str):
        text = value.strip()
        parsed = _from_epoch(float(text)) if _EPOCH_DIGITS.match(text) else _parse_iso(text)
    else:
        msg = f"not a timestamp: {value!r}"
        raise ValueError(msg)  # noqa: TRY004
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _from_epoch(number: float) -> dt.datetime:
    seconds = number / 1000 if number >= 1e11 else number
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _parse_iso(text: str) -> dt.datetime:
    candidate = text.replace(" ", "T", 1) if "T" not in text and " " in text else text
    if candidate.endswith(("z", "Z")):
        candidate = candidate[:-1] + "+00:00"
    # Python 3.11 accepts 1-6 fraction digits; trim longer (nanosecond) fractions.
    candidate = re.sub(r"(\.\d{6})\d+", r"\1", candidate)
    try:
        return dt.datetime.fromisoformat(candidate)
    except ValueError:
        msg = f"not a timestamp: {text!r}"
        raise ValueError(msg) from None


#: Length of a timestamp in the fixed-width format, ``2024-01-01T00:00:00.000000Z``: a string
#: of this length ending ``.ffffffZ`` is already normalised and is read as it is.
FIXED_WIDTH = 27


def format_timestamp(moment: dt.datetime) -> str:
    """Format an aware datetime in the tap's one fixed-width UTC format."""
    return moment.astimezone(dt.UTC).strftime(TIMESTAMP_FORMAT)


_UTC_ISO = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(?:Z|z|\+00:00|\+0000)?"
)


def normalize_utc_iso(text: str) -> str | None:
    """ISO 8601 already in UTC (zone Z, +00:00 or none) → the fixed-width format by slicing,
    no parsing (None: another spelling). Every post's dates pass through here."""
    if (match := _UTC_ISO.fullmatch(text)) is None:
        return None
    day, clock, fraction = match.groups()
    return f"{day}T{clock}.{(fraction or '')[:6].ljust(6, '0')}Z"


def normalize_timestamp(value: object) -> str | None:
    """Any accepted timestamp spelling → the fixed-width UTC format (None stays None)."""
    fixed = normalize_utc_iso(value) if isinstance(value, str) else None
    if fixed is None and (parsed := parse_timestamp(value)) is not None:
        fixed = format_timestamp(parsed)
    return fixed


# ---------------------------------------------------------------------------- containers


def unwrap_list(payload: object, keys: Iterable[str], of: str = "items") -> list[Any]:
    """Return the list in ``payload``: the payload itself, or under one of ``keys``.

    Wrappers may nest (``{"data": {"items": [...]}}``); an empty object means no items.
    ``of`` names the items for the error (``{"results": "x"}``: "results is a string").
    """
    keys = tuple(keys)
    current, path = payload, ""
    for _ in range(3):
        if isinstance(current, list):
            return current
        if not isinstance(current, Mapping) or not current:
            break
        key = next((k for k in keys if k in current), None)
        if key is None:
            break
        current, path = current[key], f"{path}.{key}".lstrip(".")
    if current == {}:
        return []
    if path:
        msg = f"{path} is {describe(current)}, expected a list of {of}"
    else:
        msg = f"expected a list of {of} (plain or under {', '.join(keys)}), got {describe(payload)}"
    raise ShapeError(msg)


def unwrap_object(payload: object, keys: Iterable[str]) -> dict[str, Any]:
    """Return the object in ``payload``: the payload itself or the one under a wrapper key."""
    if not isinstance(payload, Mapping):
        msg = f"expected an object, got {describe(payload)}"
        raise ShapeError(msg)
    for key in keys:
        inner = payload.get(key)
        if isinstance(inner, Mapping) and _looks_like_task(inner):
            return dict(inner)
    return dict(payload)


def _looks_like_task(candidate: Mapping[str, Any]) -> bool:
    return any(k in candidate for k in (*_TASK_ID_KEYS, *_STATUS_KEYS, "value"))


#: A decoded body in JSON's words, never a Python type name (bytes: EMPTY_BODY).
_JSON_KINDS = {bool: "true or false", int: "a number", float: "a number", str: "a string"}
_JSON_KINDS |= {list: "a list", type(None): "null", bytes: "an empty body"}
#: What the transport returns for an answer without a body: no JSON decodes to bytes, so an
#: error can tell an empty body from a JSON ``null``.
EMPTY_BODY = b""


def describe(payload: object) -> str:
    """What a decoded body is, for an error line: "a string", "null", "an empty body", …"""
    if isinstance(payload, Mapping):
        return "an object with keys " + ", ".join(sorted(map(str, payload))[:8])
    return _JSON_KINDS.get(type(payload), "a value of an unknown kind")


def first_present(mapping: Mapping[str, Any], keys: Iterable[str]) -> Any:
    """The value of the first key of ``keys`` present (and not None) in ``mapping``."""
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


# ---------------------------------------------------------------------------- sources


def source_name(item: object) -> str:
    """The short sub-source name of one entry of the source list (string or object)."""
    raw = first_present(item, _SOURCE_NAME_KEYS) if isinstance(item, Mapping) else item
    if not isinstance(raw, str) or not raw.strip():
        msg = f"source entry without a name: {describe(item)}"
        raise ShapeError(msg)
    name = raw.strip()
    return name.removeprefix(SEARCH_INDEX_PREFIX)


def source_records(payload: object) -> list[dict[str, Any]]:
    """Source list → one record per sub-source, ``name`` first, other fields kept."""
    records: dict[str, dict[str, Any]] = {}
    for item in unwrap_list(payload, _SOURCE_LIST_KEYS, of="sub-sources"):
        name = source_name(item)
        extra = dict(item) if isinstance(item, Mapping) else {}
        records[name] = {**extra, "name": name, "search_index": SEARCH_INDEX_PREFIX + name}
    return list(records.values())


def source_names(payload: object) -> list[str]:
    """Source list → the short names, in the API's order, without duplicates."""
    return [record["name"] for record in source_records(payload)]


# ---------------------------------------------------------------------------- tasks


def task_list(payload: object) -> list[dict[str, Any]]:
    """Task list body → the raw task objects."""
    items = unwrap_list(payload, _TASK_LIST_KEYS, of="tasks")
    tasks = [dict(item) for item in items if isinstance(item, Mapping)]
    if len(tasks) != len(items):
        msg = "task list holds entries that are not objects"
        raise ShapeError(msg)
    return tasks


def task_object(payload: object) -> dict[str, Any]:
    """Single-task body → the raw task object (plain or wrapped)."""
    return unwrap_object(payload, _TASK_OBJECT_KEYS)


def task_id(task: Mapping[str, Any]) -> str | None:
    """The task id, whichever key carries it; always a string."""
    value = first_present(task, _TASK_ID_KEYS)
    return None if value is None else str(value)


def task_status(task: Mapping[str, Any]) -> str:
    """The task status, lower-cased and trimmed ('' when absent)."""
    value = first_present(task, _STATUS_KEYS)
    if isinstance(value, Mapping):
        value = first_present(value, ("name", "value", "status"))
    return str(value).strip().lower() if value is not None else ""


def is_done(status: str) -> bool:
    """True for a status after which the task's posts are searchable."""
    return status.lower() in DONE_STATUSES


def is_failed(status: str) -> bool:
    """True for a status that ends a task without (further) data."""
    return status.lower() in FAILED_STATUSES


def is_active(status: str) -> bool:
    """True for a status of a started task that is still collecting."""
    return status.lower() in ACTIVE_STATUSES


def needs_start(status: str) -> bool:
    """True when a task is neither collecting nor done: new, stopped, failed or canceled."""
    return not (is_active(status) or is_done(status))


def _date_only(value: object) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return text
    parsed = parse_timestamp(text)
    return None if parsed is None else parsed.date().isoformat()


_FROM_KEYS = ("from_date", "from", "fromDate")
_TO_KEYS = ("to_date", "to", "toDate")
#: Keys read into the record's own fields (``from_date`` and ``to_date`` keep their name).
_CONSUMED_TASK_KEYS = frozenset(
    {*_TASK_ID_KEYS, *_STATUS_KEYS, *_CREATED_KEYS, *_UPDATED_KEYS, *_FROM_KEYS[1:], *_TO_KEYS[1:]}
)


def task_record(task: Mapping[str, Any], source: str) -> dict[str, Any]:
    """A raw task object → the ``tasks`` stream record (unknown fields kept)."""
    extra = {k: v for k, v in task.items() if k not in _CONSUMED_TASK_KEYS}
    parameters = task.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        # Planning compares parameters as objects; the value as sent is kept for the record.
        extra["extra_fields"] = {**(extra.get("extra_fields") or {}), "parameters": parameters}
    return {
        **extra,
        "source": source,
        "id": task_id(task),
        "value": task.get("value"),
        "from_date": _or_as_sent(_date_only, first_present(task, _FROM_KEYS)),
        "to_date": _or_as_sent(_date_only, first_present(task, _TO_KEYS)),
        "update_interval": _or_as_sent(_as_int, task.get("update_interval")),
        "parameters": parameters if isinstance(parameters, dict) else {},
        "status": task_status(task),
        "created_at": _or_as_sent(normalize_timestamp, first_present(task, _CREATED_KEYS)),
        "updated_at": _or_as_sent(normalize_timestamp, first_present(task, _UPDATED_KEYS)),
    }


def _or_as_sent(parse: Any, value: object) -> Any:
    """``parse(value)``, or the value as sent when unreadable: the stream's schema conformer
    (streams/conform.py) then keeps it in ``extra_fields`` and leaves the typed field null."""
    try:
        return parse(value)
    except ValueError:
        return value


def _as_int(value: object) -> int | None:
    if value is None:
        return None
    # A bool is not a count; callers handle one error type (ValueError) for bad input.
    if isinstance(value, bool) or not (number := float(str(value))).is_integer():
        msg = f"not an integer: {value!r}"
        raise ValueError(msg)
    return int(number)


def task_updated_at(task: Mapping[str, Any]) -> str | None:
    """The task's last-change timestamp, normalised, when the API sends one."""
    return _or_as_sent(normalize_timestamp, first_present(task, _UPDATED_KEYS))  # type: ignore[no-any-return]
