"""The live feed: posts found continuously while the emulator runs, and bursts on demand.

The n-th arrival after the rate was set is due at ``anchor + n / rate`` and carries that
instant as ``content.found``. Whoever looks first — any request, before it is served, or the
ticker thread of ``Emulator`` — makes every due arrival searchable; so no request ever sees an
index without a post found before it, and the posts depend on the clock, never on when the
requests came. The clock is injectable: tests move it by hand instead of waiting.
"""

from __future__ import annotations

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
        self.added = 0
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
        if self._rate <= 0:  # off: no lock taken on the path every request goes through
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
                "by_class": dict(self.by_class),
                "bursts": self.bursts,
                "burst_posts": self.burst_posts,
                "now": format_us(now_us, 2),
            }

    # ------------------------------------------------------------------ under the lock

    def _set_rate(self, now_us: int, rate: float) -> None:
        self._rate = rate
        self._anchor_us = now_us
        self._anchored = self.added

    def _add_due(self, now_us: int, cfg: EmulatorConfig) -> int:
        if self._rate <= 0 or now_us <= self._anchor_us:
            return 0
        due = self._anchored + int((now_us - self._anchor_us) * self._rate / 1_000_000)
        if due <= self.added:
            return 0
        groups: dict[str, list[tuple[int, int]]] = {}
        for k in range(self.added, due):
            offset_us = round((k - self._anchored + 1) * 1_000_000 / self._rate)
            found_us = min(now_us, self._anchor_us + offset_us)
            source = cfg.live_sources[k % len(cfg.live_sources)]
            groups.setdefault(source, []).append((k, found_us))
        for source, arrivals in groups.items():
            self._indexes.add_generated(
                source, len(arrivals), self._builder(source, arrivals, cfg.live_shares)
            )
        added, self.added = due - self.added, due
        return added

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
