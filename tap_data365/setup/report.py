"""The setup command's report: one table (or JSON document) per run, plus plain tables.

The same rows feed the text table and ``--json``, so scripts and people see the same facts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tap_data365.setup.plan import PlannedTask, WaitResult

_MAX_CELL = 40


@dataclass
class SetupReport:
    """Everything a run did, in the order it happened; rendered once at the end."""

    dry_run: bool = False
    #: What happened to the token, never the token; unset, the report says why.
    token: str = "not registered (setting data365_token is not set)"  # noqa: S105
    tasks: list[PlannedTask] = field(default_factory=list)
    wait: WaitResult | None = None
    timed_out: bool = False
    error: str | None = None
    exit_code: int = 0
    requests: int = 0
    writes: int = 0

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "index": t.spec.index,
                "source": t.spec.source,
                "value": t.spec.value,
                "from_date": t.spec.from_date,
                "to_date": t.spec.to_date,
                "update_interval": t.spec.update_interval,
                "parameters": json.loads(t.spec.parameters),
                "id": t.task_id,
                "action": t.action(dry_run=self.dry_run),
                "status": t.status or None,
                "duplicates": t.duplicates,
            }
            for t in self.tasks
        ]

    def as_json(self) -> str:
        wait = None
        if self.wait is not None:
            wait = {
                "done": [t.spec.label for t in self.wait.done],
                "failed": [t.spec.label for t in self.wait.failed],
                "open": [t.spec.label for t in self.wait.open],
                "timed_out": self.timed_out,
                "elapsed_seconds": round(self.wait.elapsed, 1),
            }
        document = {
            "ok": self.exit_code == 0,
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "token": self.token,
            "tasks": self.rows(),
            "wait": wait,
            "requests": {"total": self.requests, "writes": self.writes},
            "error": self.error,
        }
        return json.dumps(document, indent=2)

    def as_text(self) -> str:
        rows = self.rows()
        table = render_table(
            ["#", "source", "value", "id", "action", "status"],
            [
                [r["index"], r["source"], r["value"], r["id"], r["action"], r["status"]]
                for r in rows
            ],
        )
        lines = [table] if rows else ["no tasks declared (setting tasks is empty)"]
        for task in self.tasks:
            if task.duplicates:
                lines.append(
                    f"{task.spec.label}: the server already holds {len(task.duplicates)} "
                    f"duplicate(s) ({', '.join(task.duplicates)}); kept {task.task_id}, "
                    "nothing removed (see: setup remove --prune)"
                )
        lines.append(self.summary())
        return "\n".join(lines)

    def summary(self) -> str:
        actions: dict[str, int] = {}
        for row in self.rows():
            actions[row["action"]] = actions.get(row["action"], 0) + 1
        parts = [f"{n} {a}" for a, n in sorted(actions.items())]
        head = f"{len(self.tasks)} declared task(s)" + (f": {', '.join(parts)}" if parts else "")
        token = f"token {self.token}"
        sent = f"{self.requests} request(s), {self.writes} write(s)"
        return f"{head}; {token}; {sent}" + (" (dry run)" if self.dry_run else "")


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain, fixed-width text table (no colours: it also lands in log files)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def _cell(value: object) -> str:
    text = "-" if value is None or value == "" else str(value)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"
