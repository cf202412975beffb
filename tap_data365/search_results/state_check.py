"""The ``--state`` file, checked before the sync starts: one line naming the key at fault.

A state written by an older or newer tap, edited by hand or truncated must not end in a
traceback halfway through a sync. What a partition may hold and how each value is checked
is the partition's own type (state.py): a new state key is one more entry there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tap_data365.errors import ConfigError
from tap_data365.search_results.state import PartitionState


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
    problem = PartitionState.problem(part)
    return None if problem is None else f"{place}.{problem[0]} {problem[1]}"
