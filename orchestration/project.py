"""What meltano.yml says the Dagster job runs: the project root, the loader, the schedules.

Read once when the code location loads, from the file alone (no `meltano` call, no network):
`dagster definitions validate` works on a checkout with nothing installed but Dagster.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import yaml

EXTRACTOR = "tap-data365"

#: Meltano's interval shorthands (docs: "meltano schedule"), as cron expressions.
_INTERVALS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
}


class ProjectError(ValueError):
    """meltano.yml cannot drive the Dagster job; the message names the part at fault."""


@dataclasses.dataclass(frozen=True)
class Schedule:
    name: str
    cron: str


@dataclasses.dataclass(frozen=True)
class ProjectFacts:
    root: Path
    loader: str
    schedules: tuple[Schedule, ...]


def project_root() -> Path:
    """$MELTANO_PROJECT_ROOT (Meltano's own variable), else the folder above this package."""
    configured = os.environ.get("MELTANO_PROJECT_ROOT")
    return Path(configured).resolve() if configured else Path(__file__).resolve().parent.parent


def read_project(root: Path) -> ProjectFacts:
    path = root / "meltano.yml"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        msg = f"{path}: cannot be read ({exc})"
        raise ProjectError(msg) from exc
    loaders = _job_loaders(document)
    if not loaders:
        msg = f"{path}: no job runs `{EXTRACTOR} <loader>`; add one (jobs:) for the loader"
        raise ProjectError(msg)
    if len(set(loaders.values())) > 1:
        msg = f"{path}: jobs load {EXTRACTOR} into different loaders ({loaders}); keep one"
        raise ProjectError(msg)
    schedules = tuple(
        Schedule(name=str(s["name"]), cron=_cron(s, path))
        for s in document.get("schedules") or []
        if s.get("job") in loaders or s.get("extractor") == EXTRACTOR
    )
    return ProjectFacts(root=root, loader=next(iter(loaders.values())), schedules=schedules)


def _job_loaders(document: dict[str, Any]) -> dict[str, str]:
    """job name -> loader, for each meltano.yml job whose task is `tap-data365 LOADER`."""
    found: dict[str, str] = {}
    for job in document.get("jobs") or []:
        for task in job.get("tasks") or []:
            words = str(task).split()
            if len(words) == 2 and words[0] == EXTRACTOR:
                found[str(job["name"])] = words[1]
    return found


def _cron(schedule: dict[str, Any], path: Path) -> str:
    interval = str(schedule.get("interval") or schedule.get("cron_interval") or "")
    cron = _INTERVALS.get(interval, interval)
    if len(cron.split()) != 5:
        msg = (
            f"{path}: schedule {schedule.get('name')!r} has interval {interval!r}; "
            f"use a cron expression or one of {', '.join(_INTERVALS)}"
        )
        raise ProjectError(msg)
    return cron
