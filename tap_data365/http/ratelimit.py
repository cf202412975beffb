"""One request limiter shared by every worker of a sync: adaptive concurrency under rate limits.

With a fixed number of workers, each one backs off alone after a 429 while the others keep
hitting the server, so a rate-limited account is hammered and ends up slower than one polite
request at a time. Here every request takes a slot from one :class:`AdaptiveLimiter`:

- a 429, or a 503 with ``Retry-After``, pauses *every* worker until the time the server
  asked for, and lowers the number of requests allowed in flight (halved, and never above
  what was in flight when the refused request went out, minus one);
- optionally (``start``, as the tap does) a sync starts with fewer in flight and doubles them
  after each round of clean answers until the first push-back or ``max_concurrency``: a
  server that takes one request at a time refuses one or two, not ``max_concurrency - 1``;
- after a push-back, clean answers raise it again by one at a time, slowly (after
  ``probe_after`` clean answers, a number that doubles each time the server pushes back,
  so a limit that holds is rarely probed), up to ``max_concurrency``;
- optionally, requests start at most ``max_requests_per_second`` times a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Requests in flight at the start of a sync (slow start, doubled per clean round).
START_LIMIT = 2
#: Clean answers needed before the first step back up after a push-back.
FIRST_PROBE_AFTER = 32
#: Never wait for more clean answers than this before probing one more request in flight.
MAX_PROBE_AFTER = 1024


@dataclass(frozen=True)
class Slot:
    """One request's permission to go out: when, and how busy the sync was at the time."""

    epoch: int
    in_flight: int


class AdaptiveLimiter:
    """Thread-safe: ``slot = acquire()`` before sending, ``release(slot, ...)`` after."""

    def __init__(
        self,
        max_concurrency: int,
        *,
        max_requests_per_second: float | None = None,
        max_pause: float = float("inf"),
        start: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_concurrency = max(1, max_concurrency)
        # A longer Retry-After stops the run (max_retry_wait): pausing for it would only
        # hold the other workers, and the run's end, that long.
        self._max_pause = max_pause
        self._interval = 1.0 / max_requests_per_second if max_requests_per_second else 0.0
        self._clock = clock
        self._cond = threading.Condition()
        self._limit = self.max_concurrency if start is None else max(1, start)
        self._limit = min(self._limit, self.max_concurrency)
        #: Until the first push-back the limit doubles after each round of clean answers.
        self._slow_start = self._limit < self.max_concurrency
        self._in_flight = 0
        #: The most requests in flight at once so far.
        self._peak = 0
        self._paused_until = 0.0
        self._next_start = 0.0
        # A push-back lowers the limit once per epoch: the other refusals of requests sent
        # before it are the same congestion, not new evidence.
        self._epoch = 0
        self._clean = 0
        self._probe_after = FIRST_PROBE_AFTER
        self._last_step_epoch = -1
        #: The highest limit that served ``probe_after`` clean answers in a row: a level
        #: the server is known to take (one lucky clean answer proves nothing).
        self._held = 0
        self.throttled = 0

    @property
    def limit(self) -> int:
        """Requests allowed in flight right now."""
        with self._cond:
            return self._limit

    def acquire(self) -> Slot:
        """Wait for a free slot (and the end of any pause, and the rate's next start)."""
        with self._cond:
            while True:
                slot, wait = self._take()
                if slot is not None:
                    return slot
                self._cond.wait(wait)

    def try_acquire(self) -> Slot | None:
        """A slot if one is free right now, else None (nothing taken)."""
        with self._cond:
            return self._take()[0]

    def _take(self) -> tuple[Slot | None, float | None]:
        """A slot, or how long to wait before asking again (None: until a release)."""
        now = self._clock()
        if now < self._paused_until:
            return None, self._paused_until - now
        if self._in_flight >= self._limit:
            return None, None
        if now < self._next_start:
            return None, self._next_start - now
        if self._interval:
            self._next_start = max(now, self._next_start) + self._interval
        self._in_flight += 1
        self._peak = max(self._peak, self._in_flight)
        return Slot(self._epoch, self._in_flight), None

    def release(
        self, slot: Slot, status: int | None = None, retry_after: float | None = None
    ) -> None:
        """Give the slot back with the answer's status (None: no answer came) and Retry-After."""
        with self._cond:
            self._in_flight -= 1
            if status is not None and pushes_back(status, retry_after):
                self._push_back(slot, retry_after)
            elif status is not None and status < 400:
                self._clean_answer()
            self._cond.notify_all()

    def _push_back(self, slot: Slot, retry_after: float | None) -> None:
        self.throttled += 1
        self._slow_start = False
        if retry_after and retry_after <= self._max_pause:
            self._paused_until = max(self._paused_until, self._clock() + retry_after)
        ceiling = max(1, slot.in_flight - 1)
        if slot.epoch == self._epoch:
            self._epoch += 1
            # Refused at a limit above the level that held (whichever of the requests in
            # flight the server happened to refuse): the probe failed.
            probed = max(slot.in_flight, self._limit) > self._held
            self._limit = max(1, min(self._limit // 2, ceiling))
            if probed:
                # Refused beyond anything the server ever took: the probe failed, so the
                # next one waits longer. A refusal at a level that held before (a
                # sporadic 429) lowers the limit but does not push the next probe away.
                self._probe_after = min(MAX_PROBE_AFTER, self._probe_after * 2)
        else:
            self._limit = max(1, min(self._limit, ceiling))
        self._clean = 0

    def _clean_answer(self) -> None:
        self._clean += 1
        if self._slow_start:
            # Only answers given with `limit` requests in flight prove the level (a sync's
            # first requests go out one by one).
            if self._peak < self._limit:
                self._clean = 0
            elif self._clean >= self._limit:
                self._clean = 0
                self._held = max(self._held, self._limit)
                self._limit = min(self.max_concurrency, self._limit * 2)
            return
        if self._clean < self._probe_after:
            return
        self._clean = 0
        self._held = max(self._held, self._limit)
        if self._limit < self.max_concurrency:
            self._limit += 1
            if self._last_step_epoch == self._epoch:
                # Two steps up in a row without push-back: the limit has moved; probe sooner.
                self._probe_after = max(FIRST_PROBE_AFTER, self._probe_after // 2)
            self._last_step_epoch = self._epoch


def pushes_back(status: int, retry_after: float | None) -> bool:
    """A 429, or a 503 that says when to come back: the server wants fewer requests."""
    return status == 429 or (status == 503 and retry_after is not None)
