"""The ``tap-data365`` executable: the Singer tap, plus the ``setup`` command family.

Singer invocations (``--config … --catalog …``, ``--discover``, ``--about``) go to the SDK's
own command untouched; ``tap-data365 setup …`` goes to the task setup command.
"""

from __future__ import annotations

import sys

import click
import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError

from tap_data365.errors import ConfigError, Data365Error

EXIT_RUNTIME_ERROR = 1
EXIT_BAD_SETTINGS = 2


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``tap-data365`` console script."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["setup"]:
        # The task setup family is its own click group; it never builds the Tap object.
        from tap_data365.setup_cli import run  # noqa: PLC0415

        sys.exit(run(args[1:]))
    from tap_data365.tap import TapData365  # noqa: PLC0415  (import cost only when syncing)

    try:
        # Without standalone mode click returns (not raises) the code of ctx.exit(n).
        code = TapData365.cli.main(args=args, prog_name="tap-data365", standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        _fail("aborted", EXIT_RUNTIME_ERROR)
    except ConfigError as exc:
        _fail(str(exc), EXIT_BAD_SETTINGS)
    except Data365Error as exc:
        _fail(str(exc), EXIT_RUNTIME_ERROR)
    except (FatalAPIError, RetriableAPIError) as exc:
        _fail(f"the Datastreamer API failed: {exc}", EXIT_RUNTIME_ERROR)
    except requests.RequestException as exc:
        _fail(f"could not reach the Datastreamer API: {type(exc).__name__}", EXIT_RUNTIME_ERROR)


def _fail(message: str, code: int) -> None:
    print(f"tap-data365: error: {message}", file=sys.stderr)
    sys.exit(code)
