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


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``tap-data365`` console script."""
    args = sys.argv[1:] if argv is None else argv
    stderr_mask.install()  # everything printed from here on, tracebacks included, is masked
    if args[:1] == ["setup"]:
        # The task setup family is its own click group; it never builds the Tap object.
        from tap_data365.setup.command import run  # noqa: PLC0415

        sys.exit(run(args[1:]))
    try:
        precheck(args)
    except ConfigError as exc:
        _fail(str(exc), EXIT_INVALID)
    from tap_data365.tap import TapData365  # noqa: PLC0415  (import cost only when syncing)

    # A sync allocates a few containers per post, so the cyclic collector ran every few
    # posts, each full pass rescanning the SDK's import-time objects (they live until exit):
    # those are kept out of its scans, and it runs less often (posts form no reference
    # cycles, so nothing waits longer to be freed). ~15 % of a sync's CPU (bench/run.py).
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)

    try:
        # Without standalone mode click returns (not raises) the code of ctx.exit(n).
        code = TapData365.cli.main(args=args, prog_name=PROG, standalone_mode=False)
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


def precheck(args: Sequence[str]) -> None:
    """Read every --config and the --state as the SDK will, failing in one line.

    Also registers the secrets with the mask and prints the settings warnings.
    """
    from tap_data365.config_files import read_configs, warn_settings  # noqa: PLC0415
    from tap_data365.search_results.state_check import read_state_file  # noqa: PLC0415

    configs = option_values(args, "--config")
    if configs:
        warn_settings(read_configs(configs), PROG)
    for state in option_values(args, "--state"):
        read_state_file(Path(state))


def option_values(args: Sequence[str], option: str) -> list[str]:
    """The values given to ``option`` (``--opt value`` or ``--opt=value``), in order."""
    values = []
    for index, arg in enumerate(args):
        if arg == option and index + 1 < len(args):
            values.append(args[index + 1])
        elif arg.startswith(option + "="):
            values.append(arg[len(option) + 1 :])
    return values


def _fail(message: str, code: int) -> None:
    print(f"{PROG}: error: {stderr_mask.mask(message)}", file=sys.stderr)
    sys.exit(code)
