"""A server-side concurrency limit: beyond ``max_in_flight`` API requests at once, a 429.

Like an account whose plan allows N requests in flight: a request that arrives while N are
being served is refused with ``Retry-After`` at once. A slot is held from arrival until the
answer is ready (latency included) and given back before the answer is written, so a client
that waits for each answer before sending the next is never refused.
"""

from __future__ import annotations

import threading


class InFlightGate:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self.refused = 0

    def enter(self, limit: int) -> bool:
        """Take a slot; False (and nothing taken) when ``limit`` (> 0) are already taken."""
        with self._lock:
            if 0 < limit <= self._in_flight:
                self.refused += 1
                return False
            self._in_flight += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1
