"""Posts that arrive while the emulator runs: fresh, late or very late, found when added.

A live collection keeps finding posts. Most were published minutes ago (fresh), some days ago
(late: the platform surfaced them late), a few months ago (very late). Each class is dated
before its ``content.found`` by an age drawn from its range; ``found_by`` is null (no task
brought them in). Every post draws from a random stream of its own, keyed by the seed and
its arrival number, so the same arrivals give the same posts however they are batched.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Mapping

from data365_emulator.documents import DocMaker
from data365_emulator.posts import Post
from data365_emulator.seed import format_us, truncate_us

CLASSES = ("fresh", "late", "very_late")
_HOUR_US = 3_600_000_000
_DAY_US = 24 * _HOUR_US
#: How long before ``content.found`` each class was published: [low, high) in µs.
AGES_US: dict[str, tuple[int, int]] = {
    "fresh": (0, _HOUR_US),
    "late": (2 * _DAY_US, 7 * _DAY_US),
    "very_late": (200 * _DAY_US, 300 * _DAY_US),
}
#: The mix of the live collection in issue 14 (40 fresh, 25 late, 5 very late).
DEFAULT_SHARES: dict[str, float] = {"fresh": 40.0, "late": 25.0, "very_late": 5.0}
_RATE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(?:/\s*(s|sec|second|min|minute|h|hour))?\s*$")
_PER = {"s": 1.0, "sec": 1.0, "second": 1.0, "min": 60.0, "minute": 60.0, "h": 3600.0,
        "hour": 3600.0}  # fmt: skip


def parse_rate(value: object) -> float:
    """Posts per second from ``2``, ``2.5``, ``"2/s"``, ``"120/min"`` or ``"3000/h"``."""
    if isinstance(value, bool):
        value = None  # True is not a rate, whatever int() says
    if isinstance(value, int | float):
        rate = float(value)
    else:
        match = _RATE.match(value) if isinstance(value, str) else None
        if match is None:
            msg = f"live_rate must be posts per second: N, 'N/s', 'N/min' or 'N/h'; got {value!r}"
            raise ValueError(msg)
        rate = float(match.group(1)) / _PER[match.group(2) or "s"]
    if not 0.0 <= rate < float("inf"):
        msg = f"live_rate must be >= 0 posts per second; got {value!r}"
        raise ValueError(msg)
    return rate


_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|min|h)?\s*$")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_LAG_SPELLING = "index_lag must be a delay (90, '90s', '2m', '1h') or a range ('1m-15m')"


def _seconds(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f"{_LAG_SPELLING}; got {value!r}")
        seconds = float(match.group(1)) * _SECONDS[match.group(2) or "s"]
    if not 0.0 <= seconds < float("inf"):
        raise ValueError(f"index_lag must be >= 0 seconds; got {value!r}")
    return seconds


def parse_lag(value: object) -> tuple[float, float]:
    """How long after ``content.found`` live arrivals become searchable, as (low, high)
    seconds: from ``90``, ``"2m"``, ``"1m-15m"`` or a [low, high] pair (0: at once)."""
    ends = value.split("-", 1) if isinstance(value, str) and "-" in value else value
    if isinstance(ends, list | tuple):
        if len(ends) != 2:
            raise ValueError(f"{_LAG_SPELLING}; got {value!r}")
        low, high = _seconds(ends[0]), _seconds(ends[1])
    else:
        low = high = _seconds(ends)
    if high < low:
        raise ValueError(f"index_lag: the range's low end is above its high end; got {value!r}")
    return low, high


def parse_shares(value: object) -> dict[str, float]:
    """Relative weights of the classes, from a mapping or ``"fresh=40,late=25,very_late=5"``;
    a class left out gets none."""
    if isinstance(value, str):
        pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
        if any(len(pair) != 2 for pair in pairs):
            msg = f"live_shares must read like 'fresh=40,late=25,very_late=5'; got {value!r}"
            raise ValueError(msg)
        value = {key.strip(): weight.strip() for key, weight in pairs}
    if not isinstance(value, Mapping):
        msg = f"live_shares must map {', '.join(CLASSES)} to weights; got {value!r}"
        raise TypeError(msg)
    unknown = sorted(str(key) for key in value if key not in CLASSES)
    if unknown:
        msg = f"live_shares: unknown classes {', '.join(unknown)}; known: {', '.join(CLASSES)}"
        raise ValueError(msg)
    try:
        shares = {name: float(value.get(name, 0.0)) for name in CLASSES}
    except (TypeError, ValueError):
        msg = f"live_shares: every weight must be a number; got {dict(value)!r}"
        raise ValueError(msg) from None
    if any(not 0.0 <= w < float("inf") for w in shares.values()) or sum(shares.values()) <= 0:
        msg = f"live_shares: weights must be >= 0 and not all 0; got {dict(value)!r}"
        raise ValueError(msg)
    return shares


def split(count: int, shares: Mapping[str, float]) -> dict[str, int]:
    """``count`` posts over the classes in proportion to ``shares``, exactly (largest
    remainder; ties go to the earlier class)."""
    total = sum(shares.values())
    exact = {name: count * shares[name] / total for name in CLASSES}
    counts = {name: int(share) for name, share in exact.items()}
    behind = sorted(CLASSES, key=lambda name: counts[name] - exact[name])
    for name in behind[: count - sum(counts.values())]:
        counts[name] += 1
    return counts


def pick(rng: random.Random, shares: Mapping[str, float]) -> str:
    """One class, drawn in proportion to ``shares``."""
    point = rng.random() * sum(shares.values())
    for name in CLASSES:
        point -= shares[name]
        if point < 0:
            return name
    return next(name for name in reversed(CLASSES) if shares[name] > 0)


@functools.lru_cache(maxsize=64)
def _maker(seed: int, source: str) -> DocMaker:
    return DocMaker(random.Random(f"{seed}|arrivals|{source}"), source)


def arrival_post(
    seed: int, source: str, *, seq: int, found_us: int, kind: str, rng: random.Random
) -> Post:
    """One arrival of class ``kind`` found at ``found_us``; ``seq`` numbers its id."""
    low, high = AGES_US[kind]
    style = seq % 4
    instant = truncate_us(found_us - low - rng.randrange(high - low), style)
    found = format_us(found_us, 2)  # the spelling of task timestamps: µs, Z
    doc, tokens = _maker(seed, source).make(seq, format_us(instant, style), found, None, (),
                                            rng=rng)  # fmt: skip
    return Post(doc, instant, tokens)
