"""An answer as the server writes it: a status and JSON bytes.

Shared by the Datastreamer endpoints (``api.py``), the control plane (``control.py``) and the
server's own answers (auth, faults, refusals), so none of them imports another for it.
"""

from __future__ import annotations

import msgspec

#: (HTTP status, JSON body bytes).
Reply = tuple[int, bytes]
_encode = msgspec.json.Encoder().encode


def reply(status: int, payload: object) -> Reply:
    return status, _encode(payload)


def message(status: int, text: str) -> Reply:
    """The error shape every endpoint uses: ``{"message": text}``."""
    return reply(status, {"message": text})
