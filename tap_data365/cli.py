"""The ``tap-data365`` executable: the Singer tap, plus the ``setup`` command family.

Singer invocations (``--config … --catalog …``, ``--discover``, ``--about``) go to the SDK's
own command; ``tap-data365 setup …`` goes to the task setup command. The settings and the
state are read and checked here first, so a missing file, bad JSON or a wrong value is one
line (exit 2) instead of a traceback from inside the SDK.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from tap_data365 import stderr_mask
from tap_data365.errors import EXIT_ERROR, EXIT_INVALID, ConfigError, Data365Error

PROG = "tap-data365"
#: Live containers allocated (net of those freed) between two runs of the cyclic collector.
GC_YOUNG_THRESHOLD = 200_000


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``tap-data365`` console script."""
    args = sys.argv[1:] if argv is None else argv
    stderr_mask.install()  # everything printed from here on, tracebacks included, is masked
    if args[:1] == ["setup"]:
        # The task setup family is its own click group; it never builds the Tap object.
        from tap_data365.setup.command import run  # noqa: PLC0415

        sys.exit(run(args[1:]))
    from tap_data365.tap import TapData365  # noqa: PLC0415  (import cost only when syncing)

    # Read once: each read of ``TapData365.cli`` adds another console log handler.
    command = TapData365.cli
    try:
        precheck(command, args)
    except ConfigError as exc:
        _fail(str(exc), EXIT_INVALID)

    # A sync allocates a few containers per post, so the cyclic collector ran every few
    # posts, each full pass rescanning the SDK's import-time objects (they live until exit):
    # those are kept out of its scans. Posts form no reference cycles and are freed as soon
    # as they are written, so the collector only needs to run when the live containers grow
    # well beyond what a sync holds at once (a window of 10,000 posts and the pages asked
    # ahead: ~10 containers a post, ~130,000): at 10,000 it still scanned the window being
    # read every few pages, ~7 % of a sync's CPU (bench/README.md).
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)

    try:
        # Without standalone mode click returns (not raises) the code of ctx.exit(n).
        code = command.main(args=args, prog_name=PROG, standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        _fail("aborted", EXIT_ERROR)
    except ConfigError as exc:
        _fail(str(exc), EXIT_INVALID)
    except Data365Error as exc:
        _fail(str(exc), EXIT_ERROR)
    except Exception as exc:  # noqa: BLE001  (the last guard: one line, never a traceback)
        _fail(f"unexpected {type(exc).__name__}: {exc}", EXIT_ERROR)


def precheck(command: click.Command, args: Sequence[str]) -> None:
    """Read every --config and the --state as the SDK will, failing in one line.

    The arguments are parsed by the SDK's own command line (its parser, without running
    any of its callbacks). Also registers the secrets with the mask and prints the
    settings warnings.
    """
    from tap_data365.search_results.state_check import read_state_file  # noqa: PLC0415
    from tap_data365.settings import read_configs, warn_settings  # noqa: PLC0415

    context = click.Context(command, info_name=PROG, resilient_parsing=True)
    try:
        options, _, _ = command.make_parser(context).parse_args(list(args))
    except click.UsageError:
        return  # the SDK's command reports it, with its usage line
    configs = options.get("config") or []
    if configs:
        warn_settings(read_configs(configs), PROG)
    state = options.get("state")
    if state:
        read_state_file(Path(state))


def _fail(message: str, code: int) -> None:
    print(f"{PROG}: error: {stderr_mask.mask(message)}", file=sys.stderr)
    sys.exit(code)
