"""Pieces shared by the setup command and its maintenance subcommands.

All output goes through ``MaskedConsole``, which masks the API key and the token: no message
formats them on purpose, and the mask makes that hold even by mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from tap_data365 import stderr_mask
from tap_data365.errors import EXIT_INVALID, Data365Error
from tap_data365.settings import Settings, load_settings
from tap_data365.setup.control_api import Data365Api
from tap_data365.setup.specs import TaskValidationError

#: The command as every message it prints names it.
PROG = "tap-data365 setup"


class MaskedConsole:
    """stdout for the report, stderr for progress and errors; secrets masked in both."""

    @staticmethod
    def mask(text: str) -> str:
        return stderr_mask.mask(text)  # the secrets load_settings registered

    def out(self, text: str) -> None:
        click.echo(self.mask(text))

    def err(self, text: str, *, nl: bool = True) -> None:
        click.echo(self.mask(text), err=True, nl=nl)

    def fail(self, message: str) -> None:
        self.err(f"{PROG}: error: {message}")


def config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "configs",
        multiple=True,
        metavar="FILE|ENV",
        help="JSON settings file, or ENV for TAP_DATA365_* variables; repeatable, "
        "merged left to right.",
    )(func)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def report_invalid(out: MaskedConsole, exc: Data365Error) -> int:
    if isinstance(exc, TaskValidationError):
        for problem in exc.problems:
            out.err(f"{PROG}: invalid task: {problem}")
        out.fail(f"{exc}; nothing was sent")
    else:
        out.fail(str(exc))
    return EXIT_INVALID


def make_api(settings: Settings) -> Data365Api:
    return Data365Api(
        settings.api,
        # A long Retry-After would otherwise look like a hang.
        on_retry=lambda line: MaskedConsole().err(f"{PROG}: {line}"),
    )


def load(ctx: click.Context, configs: tuple[str, ...]) -> Settings:
    return load_settings(configs or ctx.obj.get("configs", ()))
