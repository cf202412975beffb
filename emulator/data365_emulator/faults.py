"""Which API request fails, and how: deterministic from the seed and the arrival order.

``fail_next`` kinds are used first, in order (for tests that need an exact sequence); then
``fault_rate`` draws from a seeded generator, one draw per API request, so the same request
sequence against the same seed fails at the same places every run.
"""

from __future__ import annotations

import random
import threading
from collections import deque

from data365_emulator.config import EmulatorConfig


class FaultInjector:
    def __init__(self, seed: int, fail_next: tuple[str, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"faults|{seed}")
        self._queue: deque[str] = deque(fail_next)

    def reset(self, seed: int, fail_next: tuple[str, ...]) -> None:
        with self._lock:
            self._rng = random.Random(f"faults|{seed}")
            self._queue = deque(fail_next)

    def set_next(self, fail_next: tuple[str, ...]) -> None:
        with self._lock:
            self._queue = deque(fail_next)

    def pending(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._queue)

    def next_fault(self, cfg: EmulatorConfig) -> str | None:
        """The fault kind for the next API request, or None to serve it normally."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            if cfg.fault_rate <= 0 or not cfg.fault_kinds:
                return None
            if self._rng.random() >= cfg.fault_rate:
                return None
            return cfg.fault_kinds[self._rng.randrange(len(cfg.fault_kinds))]
