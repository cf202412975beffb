"""What the user reads when a request fails: one line per failure, secrets masked.

The one error mapping of the transport (``transport.py``), for the tap and ``setup`` alike:
an answer we will not retry (any more), a redirect, a connection that never got an answer
or whose answer was cut off, a body that is not JSON. Each message names what was being done
(``what``) and, for the network, the host and port; never the API key or the token. What the
API said is quoted as text: the message of a JSON body, the words of an HTML page (a proxy's
error page), never markup, a Python type name or more than one line.
"""

from __future__ import annotations

import socket
from urllib.parse import unquote, urljoin, urlsplit

import msgspec
import requests
import urllib3.exceptions

from tap_data365.errors import (
    ApiResponseError,
    AuthRejectedError,
    Data365Error,
    UnknownSourceError,
)
from tap_data365.http.body import Answer, BodyCutOff
from tap_data365.http.paths import PROVIDER_PATH
from tap_data365.http.retry import RETRIABLE_STATUSES
from tap_data365.normalize import EMPTY_BODY
from tap_data365.stderr_mask import mask

_json_decoder = msgspec.json.Decoder()


def error_for_response(response: Answer, what: str, attempts: int = 1) -> Data365Error:
    """A final error answer (not retried, or retries exhausted) as one clear error.

    A status that is retried names the attempts made, as the lines for drops and timeouts do.
    """
    status = response.status_code
    if status in {401, 403}:
        return AuthRejectedError(
            f"the Datastreamer API rejected the api_key (HTTP {status}) while {what}; "
            "check the api_key setting"
        )
    if status == 404:
        missing = _missing_object(urlsplit(response.url).path, what)
        if missing is not None:
            return missing
    tried = f" (after {attempts} attempt(s))" if status in RETRIABLE_STATUSES else ""
    return ApiResponseError(
        f"HTTP {status} from the Datastreamer API while {what}{tried}: {short_body(response)}"
    )


def _missing_object(path: str, what: str) -> Data365Error | None:
    """A 404 on a sub-source's path: the sub-source is not connected; on a task's: no task."""
    if not path.startswith(PROVIDER_PATH + "/"):
        return None
    parts = [unquote(part) for part in path[len(PROVIDER_PATH) + 1 :].split("/")]
    source = parts[0]
    if len(parts) == 1 or parts[1] == "cancel-all":
        return UnknownSourceError(
            f"Data365 sub-source {source!r} is not connected to this Datastreamer account "
            f"(HTTP 404 while {what}; check the sources setting)"
        )
    return ApiResponseError(f"task {parts[1]} of {source} does not exist (HTTP 404)")


def redirect_error(response: Answer, what: str) -> ApiResponseError:
    """A 3xx answer: never followed (the key would go along), named with its target host."""
    location = response.headers.get("Location")
    target = urlsplit(urljoin(response.url, location)).netloc if location else ""
    where = f"to {target}" if target else "without a Location"
    return ApiResponseError(
        f"the Datastreamer API answered HTTP {response.status_code} redirecting {where} while "
        f"{what}; redirects are not followed (the api_key would go along): check api_url"
    )


def short_body(response: Answer) -> str:
    """The API's own error text as one short line, secrets masked: a JSON body's message,
    the words of an HTML page, else the body as sent."""
    content = response.content
    if not content.strip():
        return "an empty body"
    try:
        body = _json_decoder.decode(content)
    except msgspec.DecodeError:
        return one_line(_readable(response.text))
    if isinstance(body, dict):
        body = body.get("message") or body.get("error") or body
    return one_line(body if isinstance(body, str) else msgspec.json.encode(body).decode())


def one_line(text: str, limit: int = 200) -> str:
    """``text`` with its whitespace collapsed, masked (a body may echo the key we sent), cut."""
    text = mask(" ".join(text.split()))
    return text[:limit] + ("…" if len(text) > limit else "")


def decode(response: Answer, what: str) -> object:
    """The JSON body (EMPTY_BODY when there is none); a body that is not JSON, or not
    UTF-8, is a clear error."""
    content = response.content
    if not content or not content.strip():
        return EMPTY_BODY
    try:
        return _json_decoder.decode(content)
    except msgspec.DecodeError:
        raise ApiResponseError(
            f"malformed response while {what}: HTTP {response.status_code} with a body "
            f"that {_why_not_json(content)}"
        ) from None


def _why_not_json(content: bytes) -> str:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        # JSON is UTF-8 (RFC 8259): the bytes are wrong, not the syntax.
        return f"is not valid UTF-8 at byte {exc.start} (JSON must be UTF-8)"
    return f"is not JSON: {one_line(_readable(text), 100)}"


def _readable(text: str) -> str:
    """The words of an HTML (or XML) page, or ``text`` itself when it is not markup."""
    if not text.lstrip().startswith("<"):
        return text
    # Imported here: html.parser costs ~15 ms at start-up, and only an error page needs it.
    from tap_data365.http.page_text import page_text  # noqa: PLC0415

    return page_text(text)


# ---------------------------------------------------------------------------- no answer


def mistake_cause(exc: BaseException) -> str | None:
    """ "connection refused" or "unknown host" when that is why no answer came, else None.

    Before the API has ever answered, both are a wrong api_url (or a server not started),
    not weather: retrying them for minutes only hides the mistake.
    """
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, socket.gaierror | urllib3.exceptions.NameResolutionError):
            return "unknown host"
        linked = (current.__cause__, current.__context__, getattr(current, "reason", None))
        stack.extend(e for e in (*linked, *current.args) if isinstance(e, BaseException))
    return None


def network_cause(exc: BaseException) -> str:
    """A few words for a failure without an answer, for retry lines and the final error."""
    if isinstance(exc, requests.Timeout):
        return "Timeout"
    cause = mistake_cause(exc)
    if cause is not None:
        return cause
    if isinstance(exc, BodyCutOff):
        return str(exc)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | ConnectionResetError):
        return "connection dropped"
    return type(exc).__name__


def where(url: str) -> str:
    """``host:port`` of a URL, the port spelt out even when it is the scheme's default."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"
