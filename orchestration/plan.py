"""Which partitions a run has, and what each `meltano run` selects.

The partitions are the sub-sources the tap would sync: its `sources` setting as Meltano
resolves it (meltano.yml, the environment, `TAP_DATA365_SOURCES` ...), or, when unset, every
connected sub-source as the tap's own `sources` stream lists them (one API request). Learned
when a run starts, not when the code location loads: a sub-source connected tomorrow is a
partition tomorrow, and loading the definitions needs no network.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import fnmatch
import json
import re
import shlex

from orchestration.project import EXTRACTOR
from orchestration.runner import Meltano

#: The account-wide stream: loaded once per run, never by a partition.
ACCOUNT_STREAM = "sources"
_NAME = re.compile(r"[a-z0-9_]+")


class PlanError(ValueError):
    """The configuration gives no usable partition; the message names the setting."""


@dataclasses.dataclass(frozen=True)
class Plan:
    sub_sources: tuple[str, ...]
    #: `select` of each partition: the project's rules without the account-wide stream.
    partition_select: tuple[str, ...]
    #: `select` of the account-wide step; empty when the project does not select it.
    account_select: tuple[str, ...]


def make_plan(meltano: Meltano) -> Plan:
    # Two independent Meltano start-ups (seconds of CPU each): side by side.
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        extras = pool.submit(meltano.run, ["config", "print", "--extras", "--format=json",
                                           EXTRACTOR])  # fmt: skip
        configured = pool.submit(configured_sub_sources, meltano).result()
        rules = [str(r) for r in json.loads(extras.result().stdout).get("_select") or []]
    names = list(configured) if configured else connected_sub_sources(meltano)
    return Plan(
        sub_sources=checked_names(names),
        partition_select=tuple(partition_select(rules)),
        account_select=tuple(account_select(rules)),
    )


def configured_sub_sources(meltano: Meltano) -> list[str]:
    """The `sources` setting as Meltano resolves it (from meltano.yml, the environment, .env)."""
    out = meltano.run(["config", "print", "--format=env", EXTRACTOR]).stdout
    for line in out.splitlines():
        name, _, value = (shlex.split(line) or [""])[0].partition("=")
        if name == "TAP_DATA365_SOURCES" and value:
            return [str(s) for s in json.loads(value)]
    return []


def connected_sub_sources(meltano: Meltano) -> list[str]:
    """The tap's `sources` stream, read (not loaded) with every other stream deselected."""
    select = json.dumps([f"{ACCOUNT_STREAM}.*"])
    out = meltano.run(["invoke", EXTRACTOR], env={"TAP_DATA365__SELECT": select}, label="list")
    names = []
    for line in out.stdout.splitlines():
        message = json.loads(line) if line.startswith("{") else {}
        if message.get("type") == "RECORD" and message.get("stream") == ACCOUNT_STREAM:
            names.append(str(message["record"]["name"]))
    return names


def checked_names(names: list[str]) -> tuple[str, ...]:
    if not names:
        msg = "setting sources: no sub-source to sync (none configured, none connected)"
        raise PlanError(msg)
    bad = [n for n in names if not isinstance(n, str) or not _NAME.fullmatch(n)]
    if bad:
        msg = f"setting sources: not a sub-source name: {', '.join(map(str, bad))}"
        raise PlanError(msg)
    return tuple(dict.fromkeys(names))


def _stream(rule: str) -> str:
    return rule.removeprefix("!").split(".", 1)[0]


def partition_select(rules: list[str]) -> list[str]:
    kept = [r for r in rules if _stream(r) != ACCOUNT_STREAM]
    if any(fnmatch.fnmatchcase(ACCOUNT_STREAM, _stream(r)) for r in kept):
        kept.append(f"!{ACCOUNT_STREAM}.*")  # a wildcard rule would select it too
    return kept


def account_select(rules: list[str]) -> list[str]:
    """The rules that match the account-wide stream, narrowed to it (`*.*` -> `sources.*`)."""
    matching = [r for r in rules if fnmatch.fnmatchcase(ACCOUNT_STREAM, _stream(r))]
    if not any(not r.startswith("!") for r in matching):
        return []
    return [
        ("!" if r.startswith("!") else "") + ACCOUNT_STREAM + r.removeprefix("!")[len(_stream(r)) :]
        for r in matching
    ]
