"""Errors users see, and the exit codes of ``tap-data365`` and ``tap-data365 setup``.

Every message here is one line, names what is at fault, and never contains the API key or
the Data365 token (only paths, status codes and the API's own short message).
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import requests

from tap_data365.http.masking import mask

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
    """The API answered with an error status or a body we cannot read."""


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


def redirect_error(response: requests.Response, what: str) -> ApiResponseError:
    """A 3xx answer: never followed (the key would go along), named with its target host."""
    location = response.headers.get("Location")
    target = urlsplit(urljoin(response.url, location)).netloc if location else ""
    where = f"to {target}" if target else "without a Location"
    return ApiResponseError(
        f"the Datastreamer API answered HTTP {response.status_code} redirecting {where} while "
        f"{what}; redirects are not followed (the api_key would go along): check api_url"
    )


def unknown_source_error(source: str) -> UnknownSourceError:
    """A 404 on a sub-source's path: the source is not connected (or does not exist)."""
    return UnknownSourceError(
        f"Data365 sub-source {source!r} is not connected to this Datastreamer account "
        "(check the sources setting)"
    )


def short_body(response: requests.Response) -> str:
    """The API's own error text, shortened to one line, secrets masked."""
    try:
        body = response.json()
    except ValueError:
        text = response.text
    else:
        text = (
            str(body.get("message") or body.get("error") or body)
            if isinstance(body, dict)
            else str(body)
        )
    text = mask(" ".join(text.split()))  # a body may echo the key we sent
    return text[:200] + ("…" if len(text) > 200 else "")


def error_for_response(response: requests.Response, what: str) -> Data365Error:
    """Map a final (non-retried or retries exhausted) error response to one clear error.

    ``what`` says what was being done, e.g. ``"listing tasks of source twitter_keywords"``.
    """
    status = response.status_code
    if status in {401, 403}:
        return AuthRejectedError(
            f"the Datastreamer API rejected the api_key (HTTP {status}) while {what}; "
            "check the api_key setting"
        )
    return ApiResponseError(
        f"HTTP {status} from the Datastreamer API while {what}: {short_body(response)}"
    )
