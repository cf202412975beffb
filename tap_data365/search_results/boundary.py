"""The boundary zone: ids of delivered posts that the next sync reads again.

The lookback re-reads posts with ``doc_date >= bookmark - lookback`` or ``content.found >=
found mark - lookback``. Remembering their ids lets a sync skip them instead of emitting
them again. In the state each is a 64-bit hash of the id (11 characters; a collision within
2,000 entries has a probability around 1e-16) with its two dates in epoch seconds, so the
zone can be pruned as the marks move. At most ``MAX_SEEN`` entries, the newest.

Per post only dictionary work is done; hashing and date conversion happen for the few
posts kept in the zone, when the state is written.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Mapping

#: The boundary zone remembered per source; beyond it, re-read posts are re-emitted (counted).
MAX_SEEN = 2_000
#: (doc_date, found) from which posts are read again, in the fixed-width format; None when
#: there are no marks yet (every delivered post may still be read again).
Bounds = tuple[str, str] | None
Dates = tuple[str | None, str | None]


class BoundaryZone:
    """The zone loaded from the state plus the posts delivered by this sync."""

    def __init__(self, stored: Mapping[str, list[int]] | None, start: Bounds) -> None:
        self._loaded = {str(k): (int(v[0]), int(v[1])) for k, v in (stored or {}).items()}
        self._new: dict[str, Dates] = {}
        self._hashes: dict[str, str] = {}  # id → id_hash, for the posts of _new
        #: The zone the previous sync left: this sync re-reads it, so it is kept until the
        #: sync is done, however far the marks move meanwhile.
        self._start = start
        #: Posts of the zone beyond MAX_SEEN at the last write.
        self.overflow = 0

    def seen(self, doc_id: str, dates: Dates) -> bool:
        """True when the post was delivered before (by this sync or one in the zone)."""
        if doc_id in self._new:
            return True
        if self._loaded and (self._start is None or _inside(self._start, dates)):
            key = id_hash(doc_id)
            if key in self._loaded:
                del self._loaded[key]
                self._new[doc_id] = dates
                return True
        return False

    def add(self, doc_id: str, dates: Dates) -> None:
        self._new[doc_id] = dates

    def store(self, bounds: Bounds, *, final: bool) -> dict[str, list[int]]:
        """The zone for the state; drops what no sync will read again. ``final``: every
        sweep of this sync is done, so the zone it started from is no longer needed."""
        start = None if final else self._start

        def keep(dates: Dates) -> bool:
            return (
                bounds is None
                or _inside(bounds, dates)
                or (start is not None and _inside(start, dates))
            )

        self._new = {i: d for i, d in self._new.items() if keep(d)}
        if final:
            self._loaded = {k: v for k, v in self._loaded.items() if keep(_as_text(v))}
        self.overflow = max(0, len(self._new) + len(self._loaded) - MAX_SEEN)
        if self.overflow:
            # Memory and state stay bounded: the newest posts are the likeliest re-read.
            newest = sorted(self._new.items(), key=lambda i: max(d or "" for d in i[1]))
            self._new = dict(newest[-MAX_SEEN:])
        zone = {k: list(v) for k, v in self._loaded.items()}
        for doc_id, dates in self._new.items():
            key = self._hashes.get(doc_id)
            if key is None:
                key = self._hashes[doc_id] = id_hash(doc_id)
            zone[key] = [_seconds(dates[0]), _seconds(dates[1])]
        self._hashes = {i: self._hashes[i] for i in self._new}
        if len(zone) > MAX_SEEN:
            zone = dict(sorted(zone.items(), key=lambda i: max(i[1]), reverse=True)[:MAX_SEEN])
        return dict(sorted(zone.items()))


def id_hash(doc_id: object) -> str:
    digest = hashlib.blake2b(str(doc_id).encode(), digest_size=8).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _inside(bounds: tuple[str, str], dates: Dates) -> bool:
    doc, found = dates
    return (doc is not None and doc >= bounds[0]) or (found is not None and found >= bounds[1])


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _seconds(value: str | None) -> int:
    """A fixed-width UTC timestamp → epoch seconds, rounded up so a stored entry never
    leaves the zone early (0 when absent: outside every zone)."""
    if not value:
        return 0
    moment = dt.datetime.fromisoformat(value[:19]).replace(tzinfo=dt.UTC)
    fraction = value[20:26].strip("0Z")
    return int((moment - _EPOCH).total_seconds()) + (1 if fraction else 0)


def _as_text(dates: tuple[int, int]) -> Dates:
    """Stored seconds back to the fixed-width format (0: absent)."""

    def text(value: int) -> str | None:
        if not value:
            return None
        moment = _EPOCH + dt.timedelta(seconds=value)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    return text(dates[0]), text(dates[1])
