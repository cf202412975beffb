"""The boundary zone: every delivered post that the next sync reads again, remembered exactly.

A sync re-reads posts with ``doc_date >= bookmark - lookback`` (when it has no discovery
sweep) or ``content.found >= found mark - discovery lookback``. Remembering their ids lets it
skip them instead of emitting them again, whatever their number: there is no cap below the
``boundary_zone_max_posts`` ceiling (a setting), beyond which the posts leaving the zone
soonest are forgotten with one warning (they may then be emitted again, never lost).

In the state (``zone``) posts are grouped by time bucket, not dated one by one: each group is
``[doc_end, found_end, hashes]``, where every post of the group has ``doc_date < doc_end`` and
``content.found < found_end`` (epoch seconds, ends of ``BUCKET``-second buckets; 0 when the
date is absent or already below what any later sync re-reads) and ``hashes`` is the 64-bit
BLAKE2b digests of their ids, concatenated and base64-encoded: 10.7 bytes per post (a false
match of a new post among 50,000 remembered has a probability around 3e-15). A group
leaves when both its ends fall to the bounds from which the next sync re-reads.

Per post only dictionary work is done; hashing happens for the posts kept in the zone, once.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
from collections.abc import Iterable

#: Seconds per time bucket: a post stays at most this long past the zone it belongs to.
BUCKET = 300
DIGEST = 8
#: (doc_date, found) from which posts are read again, in the fixed-width format; None when
#: there are no marks yet (every delivered post may still be read again).
Bounds = tuple[str, str] | None
Dates = tuple[str | None, str | None]
#: (doc_end, found_end) of a group.
Key = tuple[int, int]


class BoundaryZone:
    """The zone loaded from the state plus the posts delivered by this sync."""

    def __init__(self, stored: object, start: Bounds, limit: int) -> None:
        self._loaded: dict[Key, bytes] = load(stored)
        self._known: set[bytes] | None = None  # the loaded digests, built at first need
        self._new: dict[str, Dates] = {}
        self._digests: dict[str, tuple[bytes, Key]] = {}  # id → digest and exact ends
        #: The zone the previous sync left: this sync re-reads it, so it is kept until the
        #: sync is done, however far the marks move meanwhile.
        self._start = start
        self._limit = limit
        #: Posts of the zone beyond the ceiling at the last write (forgotten).
        self.overflow = 0

    def seen(self, doc_id: str, dates: Dates) -> bool:
        """True when the post was delivered before (by this sync or one in the zone)."""
        if doc_id in self._new:
            return True
        if self._loaded and (self._start is None or _inside(self._start, dates)):
            if self._known is None:
                self._known = {d for blob in self._loaded.values() for d in _split(blob)}
            return digest(doc_id) in self._known
        return False

    def add(self, doc_id: str, dates: Dates) -> None:
        self._new[doc_id] = dates

    def store(self, bounds: Bounds, *, final: bool) -> list[list[int | str]]:
        """The zone for the state; drops what no sync will read again. ``final``: every
        sweep of this sync is done, so the zone it started from is no longer needed."""
        kept = [b for b in (bounds, None if final else self._start) if b is not None]
        if bounds is None:
            kept = []  # no marks yet: everything delivered may be read again
        floors = _floors(kept)
        if kept:
            # Inside any of the bounds: at or above the lowest doc_date or found bound. Every
            # delivered post is filtered at every checkpoint: the test is inlined.
            doc_from, found_from = min(b[0] for b in kept), min(b[1] for b in kept)
            self._new = {
                i: d
                for i, d in self._new.items()
                if (d[0] is not None and d[0] >= doc_from)
                or (d[1] is not None and d[1] >= found_from)
            }
        if final:
            self._loaded = {k: v for k, v in self._loaded.items() if _alive(k, floors)}
        groups: dict[Key, bytearray] = {k: bytearray(v) for k, v in self._loaded.items()}
        for doc_id, dates in self._new.items():
            found = self._digests.get(doc_id)
            if found is None:
                found = self._digests[doc_id] = (digest(doc_id), _ends(dates))
            groups.setdefault(_clamp(found[1], floors), bytearray()).extend(found[0])
        self._digests = {i: self._digests[i] for i in self._new}
        self.overflow = _trim(groups, self._limit)
        return [
            [key[0], key[1], base64.b64encode(blob).decode()]
            for key, blob in sorted(groups.items())
            if blob
        ]


def digest(doc_id: object) -> bytes:
    return hashlib.blake2b(str(doc_id).encode(), digest_size=DIGEST).digest()


def load(stored: object) -> dict[Key, bytes]:
    """The groups of a stored zone (checked by state_check.py before the sync starts)."""
    groups: dict[Key, bytes] = {}
    if isinstance(stored, list):
        for doc_end, found_end, text in stored:
            key = (int(doc_end), int(found_end))
            groups[key] = groups.get(key, b"") + base64.b64decode(text)
    return groups


def load_legacy(stored: object) -> list[list[int | str]] | None:
    """The ``seen`` object of tap versions before the zone (id hash → [doc, found] epoch
    seconds) as zone groups, so an upgrade re-emits nothing."""
    if not isinstance(stored, dict) or not stored:
        return None
    groups: dict[Key, bytearray] = {}
    for key, (doc, found) in stored.items():
        try:
            raw = base64.urlsafe_b64decode(str(key) + "=")
        except (binascii.Error, ValueError):
            continue
        ends = (_bucket_end(int(doc)), _bucket_end(int(found)))
        groups.setdefault(ends, bytearray()).extend(raw[:DIGEST].ljust(DIGEST, b"\0"))
    return [[k[0], k[1], base64.b64encode(v).decode()] for k, v in sorted(groups.items())]


def zone_size(stored: object) -> int:
    """Posts remembered by a stored zone."""
    return sum(len(blob) // DIGEST for blob in load(stored).values())


def _split(blob: bytes) -> Iterable[bytes]:
    return (blob[i : i + DIGEST] for i in range(0, len(blob), DIGEST))


def _inside(bounds: tuple[str, str], dates: Dates) -> bool:
    doc, found = dates
    return (doc is not None and doc >= bounds[0]) or (found is not None and found >= bounds[1])


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _seconds(value: str) -> int:
    """A fixed-width UTC timestamp → epoch seconds (rounded down)."""
    moment = dt.datetime.fromisoformat(value[:19]).replace(tzinfo=dt.UTC)
    return int((moment - _EPOCH).total_seconds())


def _bucket_end(seconds: int) -> int:
    """The end of the bucket holding ``seconds`` (0, absent, stays 0)."""
    return 0 if seconds <= 0 else (seconds // BUCKET + 1) * BUCKET


def _ends(dates: Dates) -> Key:
    doc, found = dates
    return (
        _bucket_end(_seconds(doc)) if doc else 0,
        _bucket_end(_seconds(found)) if found else 0,
    )


def _floors(bounds: list[tuple[str, str]]) -> Key | None:
    """The lowest doc_date and found bounds in force, in epoch seconds (None: keep all)."""
    if not bounds:
        return None
    return min(_seconds(b[0]) for b in bounds), min(_seconds(b[1]) for b in bounds)


def _alive(key: Key, floors: Key | None) -> bool:
    """A group is needed while a post of it may lie at or above a bound."""
    return floors is None or key[0] > floors[0] or key[1] > floors[1]


def _clamp(key: Key, floors: Key | None) -> Key:
    """An end already at or below its bound can never matter again: 0 (fewer groups)."""
    if floors is None:
        return key
    return (key[0] if key[0] > floors[0] else 0, key[1] if key[1] > floors[1] else 0)


def _trim(groups: dict[Key, bytearray], limit: int) -> int:
    """Keep at most ``limit`` posts, forgetting those whose group leaves the zone soonest
    (the later of its two ends first); returns how many were forgotten."""
    excess = sum(len(blob) for blob in groups.values()) // DIGEST - limit
    if excess <= 0:
        return 0
    forgotten = excess
    for key in sorted(groups, key=lambda k: (max(k), k)):
        if excess <= 0:
            break
        drop = min(excess, len(groups[key]) // DIGEST)
        del groups[key][: drop * DIGEST]
        excess -= drop
    return forgotten
