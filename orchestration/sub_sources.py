"""Which sub-sources a run of `data365_all` syncs (a step each), and what each step selects.

Learned when a run starts, not when the code location loads: a sub-source connected tomorrow
gets its step tomorrow, and loading the definitions needs no network.
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

#: The account-wide stream: loaded once per run by a step of its own, never by a sub-source
#: step (each would load the same rows again).
ACCOUNT_STREAM = "sources"
_NAME = re.compile(r"[a-z0-9_]+")


class SourcesSettingError(ValueError):
    """The `sources` setting (or the account) gives no usable sub-source; the message says which."""


@dataclasses.dataclass(frozen=True)
class RunSteps:
    """The steps of one run: a `meltano run` per sub-source, and one for the account stream."""

    sub_sources: tuple[str, ...]
    #: `select` of each sub-source step: the project's rules without the account-wide stream.
    sub_source_select: tuple[str, ...]
    #: `select` of the account-wide step; empty when the project does not select it.
    account_select: tuple[str, ...]


def find_run_steps(meltano: Meltano) -> RunSteps:
    """The `sources` setting as Meltano resolves it, else every connected sub-source."""
    # Two independent Meltano start-ups (seconds of CPU each): side by side.
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        extras = pool.submit(meltano.run, ["config", "print", "--extras", "--format=json",
                                           EXTRACTOR])  # fmt: skip
        configured = pool.submit(configured_sub_sources, meltano).result()
        rules = [str(r) for r in json.loads(extras.result().stdout).get("_select") or []]
    names = list(configured) if configured else connected_sub_sources(meltano)
    return RunSteps(
        sub_sources=checked_names(names),
        sub_source_select=tuple(sub_source_select(rules)),
        account_select=tuple(account_select(rules)),
    )


def configured_sub_sources(meltano: Meltano) -> list[str]:
    """The `sources` setting as Meltano resolves it (from meltano.yml, the environment, .env)."""
    out = meltano.run(["config", "print", "--format=env", EXTRACTOR]).stdout
    for line in out.splitlines():
        name, _, value = (shlex.split(line) or [""])[0].partition("=")
        if name == "TAP_DATA365_SOURCES" and value:
            try:
                return [str(s) for s in json.loads(value)]
            except (ValueError, TypeError):
                msg = f"setting sources: not a JSON list of sub-source names: {value}"
                raise SourcesSettingError(msg) from None
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
        raise SourcesSettingError(msg)
    bad = [n for n in names if not isinstance(n, str) or not _NAME.fullmatch(n)]
    if bad:
        msg = f"setting sources: not a sub-source name: {', '.join(map(str, bad))}"
        raise SourcesSettingError(msg)
    return tuple(dict.fromkeys(names))


def _stream(rule: str) -> str:
    return rule.removeprefix("!").split(".", 1)[0]


def sub_source_select(rules: list[str]) -> list[str]:
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
