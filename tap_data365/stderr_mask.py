"""The one place that keeps secrets out of everything the tap and ``setup`` print.

Secrets (the api_key, the Data365 token) are registered as soon as the settings are read;
``mask`` replaces them in any text, and ``install`` wraps stderr so that log lines, error
lines and even an unexpected traceback pass through it. Messages are still written never to
contain a secret: this is the guard for the cases nobody thought of (an API error body that
echoes the key, a library message quoting a header value).
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

MASK = "***"
#: Shorter values are not masked: replacing every "ab" would garble the output for nothing.
MIN_LENGTH = 4
_lock = threading.Lock()
_secrets: list[str] = []


def register(*values: object) -> None:
    """Mask these values from now on (with their stripped and escaped spellings)."""
    with _lock:
        for value in values:
            if not isinstance(value, str) or not value.strip():
                continue
            # A key read with a trailing newline appears escaped in repr()-based messages.
            for form in {value, value.strip(), repr(value)[1:-1], repr(value.strip())[1:-1]}:
                if len(form) >= MIN_LENGTH and form not in _secrets:
                    _secrets.append(form)
        _secrets.sort(key=len, reverse=True)  # longest first: no partial masks


def mask(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class MaskingStream:
    """A text stream that masks secrets in everything written through it."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(mask(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def install() -> None:
    """Route sys.stderr through the mask (once); logging set up later writes through it."""
    if not isinstance(sys.stderr, MaskingStream):
        sys.stderr = MaskingStream(sys.stderr)
