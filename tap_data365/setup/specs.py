"""Declared collection tasks: the ``tasks`` setting validated into ``TaskSpec`` objects.

Every documented rule is checked before anything is sent, and every problem is reported
at once, each naming the task (``tasks[i] (source "value")``) and the rule it breaks.
A declared task and a server task are *the same task* when source, value, dates,
interval and parameters match: ``TaskSpec.key`` and ``server_key`` compute that identity.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from tap_data365 import normalize
from tap_data365.errors import ConfigError
from tap_data365.settings.declaration import TASK_SCHEMA

#: Documented limit for a twitter_keywords search query (seed page, "Task Restrictions").
TWITTER_QUERY_MAX_CHARS = 498
_OPERATORS = re.compile(r"\b(?:AND|OR)\b|&&|\|\|")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Key = tuple[str, str, str, str, int | None, str]


class TaskValidationError(ConfigError):
    """Declared tasks break one or more rules; ``problems`` lists every one of them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in setting tasks")
        self.problems = problems


@dataclass(frozen=True)
class TaskSpec:
    """One validated task declaration."""

    index: int
    source: str
    value: str
    from_date: str
    to_date: str
    update_interval: int | None = None
    parameters: str = "{}"  # canonical JSON, so the spec stays hashable and comparable

    @property
    def label(self) -> str:
        return f"tasks[{self.index}] ({self.source} {json.dumps(self.value)})"

    def key(self) -> Key:
        return _key(
            self.source,
            self.value,
            self.from_date,
            self.to_date,
            self.update_interval,
            json.loads(self.parameters),
        )

    def body(self) -> dict[str, Any]:
        """The task as the create request carries it (optional fields only when set)."""
        body: dict[str, Any] = {
            "value": self.value,
            "from_date": self.from_date,
            "to_date": self.to_date,
        }
        if self.update_interval is not None:
            body["update_interval"] = self.update_interval
        parameters = json.loads(self.parameters)
        if parameters:
            body["parameters"] = parameters
        return body


def _key(*fields: object) -> Key:
    source, value, from_date, to_date, interval, params = fields
    canonical = json.dumps(params or {}, sort_keys=True, separators=(",", ":"))
    return (
        str(source),
        str(value),
        str(from_date),
        str(to_date),
        interval if isinstance(interval, int) else None,
        canonical,
    )


def server_key(record: Mapping[str, Any]) -> Key:
    """The identity of a server task (a ``normalize.task_record``)."""
    return _key(
        record["source"],
        record.get("value"),
        record.get("from_date"),
        record.get("to_date"),
        record.get("update_interval"),
        record.get("parameters"),
    )


# ---------------------------------------------------------------------------- validation


def validate_tasks(raw: object) -> list[TaskSpec]:
    """Check every declaration; raise TaskValidationError listing every problem found."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError("setting tasks must be a list of task objects")
    validator = jsonschema.Draft7Validator(TASK_SCHEMA.to_dict())
    problems: list[str] = []
    specs: list[TaskSpec] = []
    seen: dict[Key, int] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            problems.append(f"tasks[{index}]: must be an object, got {type(item).__name__}")
            continue
        found = _schema_problems(validator, item) + _rule_problems(item)
        source = str(item.get("source", "?")).removeprefix(normalize.SEARCH_INDEX_PREFIX)
        label = f"tasks[{index}] ({source} {json.dumps(item.get('value', '?'))})"
        if found:
            problems.extend(f"{label}: {p}" for p in found)
            continue
        spec = TaskSpec(
            index=index,
            source=source,
            value=item["value"],
            from_date=item["from_date"],
            to_date=item["to_date"],
            update_interval=item.get("update_interval"),
            parameters=json.dumps(item.get("parameters") or {}, sort_keys=True),
        )
        if spec.key() in seen:
            problems.append(f"{label}: declared twice (same task as tasks[{seen[spec.key()]}])")
            continue
        seen[spec.key()] = index
        specs.append(spec)
    if problems:
        raise TaskValidationError(problems)
    return specs


def _schema_problems(validator: jsonschema.Draft7Validator, item: Mapping[str, Any]) -> list[str]:
    problems = []
    for error in sorted(validator.iter_errors(dict(item)), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in error.path)
        if error.validator == "required":
            name = error.message.split("'")[1] if "'" in error.message else error.message
            problems.append(f"missing required field {name}")
        elif error.validator == "additionalProperties":
            extra = sorted(set(item) - set(TASK_SCHEMA.to_dict()["properties"]))
            problems.append(f"unknown field(s) {', '.join(extra)}")
        elif error.validator == "type":
            expected = error.validator_value
            wanted = [expected] if isinstance(expected, str) else list(expected)
            wanted = [t for t in wanted if t != "null"]
            problems.append(f"field {where} must be of type {' or '.join(wanted)}")
        else:
            problems.append(f"field {where}: {error.message}")
    return problems


def _rule_problems(item: Mapping[str, Any]) -> list[str]:
    """The documented rules JSON Schema does not express (checked on well-typed fields)."""
    problems = []
    source = item.get("source")
    if isinstance(source, str):
        short = source.removeprefix(normalize.SEARCH_INDEX_PREFIX)
        if short not in normalize.KNOWN_SOURCES:
            problems.append(
                f"unknown source {source!r} (known: {', '.join(normalize.KNOWN_SOURCES)})"
            )
    else:
        short = None
    dates: dict[str, dt.date] = {}
    for name in ("from_date", "to_date"):
        text = item.get(name)
        if not isinstance(text, str):
            continue
        parsed = _parse_date(text)
        if parsed is None:
            problems.append(f"{name} {text!r} is not a date in yyyy-mm-dd format")
        else:
            dates[name] = parsed
    if len(dates) == 2 and dates["from_date"] > dates["to_date"]:
        problems.append(
            f"from_date {item['from_date']} is after to_date {item['to_date']} (needs from ≤ to)"
        )
    value = item.get("value")
    if isinstance(value, str):
        if not value.strip():
            problems.append("value is empty")
        elif short == "twitter_keywords" and len(value) > TWITTER_QUERY_MAX_CHARS:
            problems.append(
                f"value has {len(value)} characters; twitter_keywords allows at most "
                f"{TWITTER_QUERY_MAX_CHARS}"
            )
        elif short == "twitter_profile" and _OPERATORS.search(value):
            problems.append(
                "value uses operators (AND/OR); twitter_profile takes one profile per task"
            )
    interval = item.get("update_interval")
    if isinstance(interval, int) and not isinstance(interval, bool) and interval <= 0:
        problems.append(f"update_interval must be a positive integer, got {interval}")
    return problems


def _parse_date(text: str) -> dt.date | None:
    if not _DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None
