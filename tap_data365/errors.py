"""The errors users see, and the exit codes of ``tap-data365`` and ``tap-data365 setup``.

Exceptions, exit codes and ``parse_answer``: no I/O, no third-party import, so any module
(the pure window code included) can raise them. Turning an HTTP answer into one of them is
``http/error_mapping.py``'s job. Every message is one line, names what is at fault, and never
contains the API key or the Data365 token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")

#: Exit codes, one set for the tap and the setup command.
EXIT_OK = 0
#: A run that failed: the API, the network, a task, anything not the user's input.
EXIT_ERROR = 1
#: Bad input: a setting, a settings file, a state file, a task definition.
EXIT_INVALID = 2
#: ``setup --wait``: a task ended failed or cancelled.
EXIT_TASK_FAILED = 3
#: ``setup --wait``: the wait ran out before every task finished.
EXIT_TIMEOUT = 4


class Data365Error(Exception):
    """A failure explained in one line; the CLI prints it without a traceback."""


class ConfigError(Data365Error):
    """A setting is missing or wrong; raised before any request is sent."""


class AuthRejectedError(Data365Error):
    """The API rejected the key (401/403)."""


class UnknownSourceError(Data365Error):
    """A sub-source is not connected to the account."""


class ApiResponseError(Data365Error):
    """The API answered with an error status or a body we cannot read, or not at all."""


class RetryUnsafeError(ApiResponseError):
    """A request that must not be repeated blindly (a create) failed in a way the server may
    have acted on (a 5xx, a dropped connection): the caller must look before retrying."""


class RetryWaitTooLongError(ApiResponseError):
    """The API asked (Retry-After) for a longer wait than max_retry_wait allows."""

    def __init__(self, seconds: float, status: int, max_wait: float) -> None:
        self.seconds, self.status, self.max_wait = seconds, status, max_wait
        super().__init__(self.explain("calling the API"))

    def explain(self, what: str) -> str:
        return (
            f"the Datastreamer API asked to wait {self.seconds:.0f} s before retrying "
            f"(HTTP {self.status} with Retry-After) while {what}; that is longer than "
            f"max_retry_wait ({self.max_wait:g} s), so the run stops now: try again later"
        )


class ShapeError(ApiResponseError, ValueError):
    """The API answered with a body none of the known shapes match (a one-line error)."""


def parse_answer(parse: Callable[[Any], _T], payload: object, what: str) -> _T:
    """``parse(payload)``, a shape error naming what was being done, as every error line does."""
    try:
        return parse(payload)
    except ShapeError as exc:
        raise ApiResponseError(f"malformed response while {what}: {exc}") from None
