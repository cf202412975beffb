"""The live feed: posts found continuously while the emulator runs, and bursts on demand.

The n-th arrival after the rate was set is due at ``anchor + n / rate`` and carries that
instant as ``content.found``. Whoever looks first — any request, before it is served, or the
ticker thread of ``Emulator`` — makes every due arrival searchable; so no request ever sees an
index without a post found before it, and the posts depend on the clock, never on when the
requests came. The clock is injectable: tests move it by hand instead of waiting.

With an index lag (``index_lag``, seconds ``(low, high)``), an arrival found at ``t`` becomes
searchable only at ``t + lag``, the lag drawn per arrival from [low, high] by the seed and its
arrival number: found arrivals wait in ``_pending`` until then, as on an index that falls
behind. Bursts stay searchable at once (they stand for a backlog landing).
"""

from __future__ import annotations

import heapq
import random
import threading
from collections.abc import Callable, Mapping
from typing import Any

from data365_emulator.arrivals import CLASSES, arrival_post, pick, split
from data365_emulator.config import EmulatorConfig
from data365_emulator.posts import Post
from data365_emulator.seed import format_us
from data365_emulator.store import Indexes


class LiveFeed:
    def __init__(self, indexes: Indexes, seed: int, clock: Callable[[], float]) -> None:
        self._indexes = indexes
        self._seed = seed
        self._clock = clock
        self._lock = threading.Lock()
        self._running = False
        self._rate = 0.0  # posts per second, from the config when started or retuned
        self._anchor_us = 0  # when the rate was set
        self._anchored = 0  # live arrivals before that
        self.found = 0  # live arrivals found so far (searchable or still pending)
        #: Found arrivals not searchable yet: (searchable at µs, arrival number, found µs, source).
        self._pending: list[tuple[int, int, int, str]] = []
        self.added = 0  # live arrivals searchable
        self.by_class = dict.fromkeys(CLASSES, 0)
        self.bursts = 0
        self.burst_posts = 0

    def now_us(self) -> int:
        return int(self._clock() * 1_000_000)

    def start(self, cfg: EmulatorConfig) -> None:
        with self._lock:
            self._running = True
            self._set_rate(self.now_us(), cfg.live_rate)

    def stop(self) -> None:
        with self._lock:
            self._running = False
            self._rate = 0.0

    def retune(self, old: EmulatorConfig, new: EmulatorConfig) -> None:
        """Arrivals due under ``old`` are added first; ``new`` applies from now on."""
        with self._lock:
            now_us = self.now_us()
            self._add_due(now_us, old)
            if self._running and new.live_rate != self._rate:
                self._set_rate(now_us, new.live_rate)

    def catch_up(self, cfg: EmulatorConfig) -> int:
        """Make every arrival due by now searchable; returns how many were added."""
        if self._rate <= 0 and not self._pending:  # off: no lock on every request's path
            return 0
        with self._lock:
            return self._add_due(self.now_us(), cfg)

    def burst(
        self, cfg: EmulatorConfig, source: str, count: int, shares: Mapping[str, float]
    ) -> dict[str, Any]:
        """``count`` posts found now, split exactly over the classes by ``shares``."""
        with self._lock:
            now_us = self.now_us()
            self._add_due(now_us, cfg)  # arrivals found before the burst come first
            self.bursts += 1
            counts = split(count, shares)
            kinds = [kind for kind in CLASSES for _ in range(counts[kind])]
            key = f"{self._seed}|burst|{self.bursts}"

            def build(first_seq: int) -> list[Post]:
                rngs = (random.Random(f"{key}|{i}") for i in range(len(kinds)))
                return [
                    arrival_post(
                        self._seed, source, seq=first_seq + i, found_us=now_us, kind=kind, rng=rng
                    )
                    for i, (kind, rng) in enumerate(zip(kinds, rngs, strict=True))
                ]

            posts = self._indexes.add_generated(source, count, build)
            self.burst_posts += count
        found = format_us(now_us, 2)
        ids = [p.doc_id for p in posts]
        return {"source": source, "added": count, "found": found, "counts": counts, "ids": ids}

    def status(self, cfg: EmulatorConfig) -> dict[str, Any]:
        with self._lock:
            now_us = self.now_us()
            self._add_due(now_us, cfg)
            return {
                "rate_per_second": self._rate,
                "sources": list(cfg.live_sources),
                "shares": dict(cfg.live_shares),
                "added": self.added,
                "pending": len(self._pending),
                "by_class": dict(self.by_class),
                "bursts": self.bursts,
                "burst_posts": self.burst_posts,
                "now": format_us(now_us, 2),
            }

    # ------------------------------------------------------------------ under the lock

    def _set_rate(self, now_us: int, rate: float) -> None:
        self._rate = rate
        self._anchor_us = now_us
        self._anchored = self.found

    def _add_due(self, now_us: int, cfg: EmulatorConfig) -> int:
        """Arrivals found by now join the pending ones; those searchable by now are added."""
        self._find_due(now_us, cfg)
        groups: dict[str, list[tuple[int, int]]] = {}
        added = 0
        while self._pending and self._pending[0][0] <= now_us:
            _, k, found_us, source = heapq.heappop(self._pending)
            groups.setdefault(source, []).append((k, found_us))
            added += 1
        for source, arrivals in groups.items():
            self._indexes.add_generated(
                source, len(arrivals), self._builder(source, arrivals, cfg.live_shares)
            )
        self.added += added
        return added

    def _find_due(self, now_us: int, cfg: EmulatorConfig) -> None:
        if self._rate <= 0 or now_us <= self._anchor_us:
            return
        due = self._anchored + int((now_us - self._anchor_us) * self._rate / 1_000_000)
        low, high = (round(seconds * 1_000_000) for seconds in cfg.index_lag)
        for k in range(self.found, due):
            offset_us = round((k - self._anchored + 1) * 1_000_000 / self._rate)
            found_us = min(now_us, self._anchor_us + offset_us)
            source = cfg.live_sources[k % len(cfg.live_sources)]
            lag_us = (
                low if high <= low else random.Random(f"{self._seed}|lag|{k}").randint(low, high)
            )
            heapq.heappush(self._pending, (found_us + lag_us, k, found_us, source))
        self.found = max(self.found, due)

    def _builder(
        self, source: str, arrivals: list[tuple[int, int]], shares: Mapping[str, float]
    ) -> Callable[[int], list[Post]]:
        def build(first_seq: int) -> list[Post]:
            posts = []
            for i, (k, found_us) in enumerate(arrivals):
                rng = random.Random(f"{self._seed}|live|{k}")
                kind = pick(rng, shares)
                self.by_class[kind] += 1
                posts.append(
                    arrival_post(
                        self._seed, source, seq=first_seq + i, found_us=found_us, kind=kind, rng=rng
                    )
                )
            return posts

        return build
