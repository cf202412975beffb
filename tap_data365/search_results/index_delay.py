"""The index delay, measured: how far behind the found mark posts become searchable.

The discovery sweep reads ``content.found >= found mark - discovery lookback``: a post that
becomes searchable only after the found mark has moved more than the lookback past its
``content.found`` is read by no sweep (dated before the bookmark, found before the bound).
So the quantity the lookback must cover is how far behind the found mark posts turn up.

Each sync measures it. The found mark left by the last sync that read every searchable post
of its range (a discovery sweep, or the first full read; not a fallback, not ``end_date``)
is kept as ``reference``: a post with a ``content.found`` of R was searchable when that sync
read, so a post found at f < R that this sync delivers for the first time became searchable
at least R - f later than its discovery date. The measure uses the server's dates only, never
the tap's clock, and costs no request.

The largest delay measured is kept (``seconds``, with the found mark it was measured at) and
halves for every ``HALF_LIFE`` the found mark moves on without a larger one: a lag seen once
keeps the sweep wide for hours of collection, not for a number of syncs (which may follow
each other seconds apart). The sweep reads ``max(discovery_lookback, MARGIN * delay)`` back,
at most ``CAP``: twice the delay, so it may double before a post escapes (and the largest
delay visible is bounded by how far back the sweep reads: a sweep at twice the delay sees
whether it grows). Hence the threshold: the sweep widens, and a warning says so, once the
delay passes half the lookback; a delay well inside it changes nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from tap_data365.normalize import parse_timestamp

#: The measured delay halves for every this much the found mark moves on.
HALF_LIFE = dt.timedelta(hours=6)
#: The discovery sweep reads at least this many times the measured delay back ...
MARGIN = 2
#: The boundary zone remembers this many times the delay back: the sweep may double again
#: without re-reading posts it has forgotten (a repeat, never a loss, when it grows faster).
ZONE_MARGIN = 2 * MARGIN
#: ... but never more than this (a delay of half a day is an outage, not a lag to follow).
CAP = dt.timedelta(hours=24)
#: Delays below a second are forgotten (the key leaves the state).
FORGET_BELOW = 1.0

SECONDS, MEASURED_AT, REFERENCE = "seconds", "at", "reference"


class IndexDelay:
    """The partition's ``index_delay`` object, and this sync's measurements."""

    def __init__(self, stored: Mapping[str, Any] | None) -> None:
        stored = stored or {}
        self._seconds = float(stored.get(SECONDS) or 0.0)
        self._at: str | None = stored.get(MEASURED_AT)
        self._reference = parse_timestamp(stored.get(REFERENCE))
        self._reference_text = None if self._reference is None else stored.get(REFERENCE)
        #: The largest delay measured by this sync, in seconds.
        self.measured = 0.0

    def estimate(self, found_mark: str | None) -> float:
        """The delay in force at ``found_mark``: the stored one, decayed."""
        at, mark = parse_timestamp(self._at), parse_timestamp(found_mark)
        if not self._seconds or at is None or mark is None or mark <= at:
            return self._seconds
        halvings: float = (mark - at) / HALF_LIFE
        return self._seconds * math.pow(0.5, halvings)

    def lookback(self, configured: dt.timedelta, found_mark: str | None) -> dt.timedelta:
        """How far back the discovery sweep reads: the setting, or wider for the delay."""
        return widen(configured, self.estimate(found_mark))

    def zone_reach(
        self, configured: dt.timedelta, found_mark: str | None, *, final: bool
    ) -> dt.timedelta:
        """How far back of the found mark the boundary zone remembers delivered posts: as far
        as the next sweep reads, and while a delay is measured, ``ZONE_MARGIN`` times it, so
        a sweep that widens further re-reads posts it still knows (skipped, not repeated).
        ``final``: the sync is done (before that, its own measurements may still grow)."""
        delay = self.estimate(found_mark)
        if not final:
            delay = max(delay, self.measured)
        return widen(configured, delay, ZONE_MARGIN)

    def observe(self, found: str | None) -> None:
        """A post delivered for the first time by this sync, with its ``content.found``."""
        if self._reference is None or self._reference_text is None or found is None:
            return
        if found >= self._reference_text:
            return  # a string test first: most posts are newer than the reference
        moment = parse_timestamp(found)
        if moment is not None:
            self.measured = max(self.measured, (self._reference - moment).total_seconds())

    def finish(self, found_mark: str | None, *, read_all: bool) -> dict[str, Any] | None:
        """The state's object after the sync; ``read_all``: it read every searchable post of
        its range, so its found mark is the next sync's reference."""
        if self.measured > self.estimate(found_mark):
            self._seconds, self._at = round(self.measured, 3), found_mark
        out: dict[str, Any] = {}
        if self.estimate(found_mark) >= FORGET_BELOW:
            out[SECONDS], out[MEASURED_AT] = self._seconds, self._at
        if read_all and found_mark is not None:
            out[REFERENCE] = found_mark
        return out or None


def widen(configured: dt.timedelta, seconds: float, margin: int = MARGIN) -> dt.timedelta:
    """``configured``, or ``margin`` times the delay when that is more (at most ``CAP``)."""
    wanted = dt.timedelta(seconds=margin * seconds)
    return configured if wanted <= configured else min(max(configured, wanted), CAP)


def minutes(span: dt.timedelta | float) -> str:
    """A span for a log line: ``12.4 minutes``."""
    seconds = span.total_seconds() if isinstance(span, dt.timedelta) else span
    return f"{seconds / 60:.1f} minutes"


def check(value: Any) -> str | None:
    """The state check of ``index_delay`` (state_check.py)."""
    shape = "must be an object with seconds (a number >= 0), at and reference (date-times)"
    if not isinstance(value, dict):
        return shape
    seconds = value.get(SECONDS)
    if seconds is not None and (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not (0 <= seconds < math.inf)
    ):
        return shape
    for key in (MEASURED_AT, REFERENCE):
        moment = value.get(key)
        if moment is None:
            continue
        try:
            if not isinstance(moment, str) or parse_timestamp(moment) is None:
                return shape
        except ValueError:
            return shape
    return None
