"""Deterministic fake posts: the seeded indexes and the posts a finished task brings in.

Everything derives from ``random.Random`` seeded with strings (stable across processes,
unlike ``hash``). Seeded indexes are memoised per (seed, source, count) because every test
starts an emulator and 25k posts should be generated once per process, not per fixture.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import hashlib
import random
import uuid
from typing import Any

from data365_emulator.documents import DocMaker
from data365_emulator.instants import instant_us
from data365_emulator.posts import Post

YEAR_START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAY_US = 86_400_000_000
_YEAR_START_US = int((YEAR_START - _EPOCH).total_seconds()) * 1_000_000
# Busy weeks (several thousand posts each at scale 1) and quiet months, as day-of-year weights.
_BUSY = ((63, 77, 14.0), (161, 168, 12.0), (308, 315, 10.0))  # (first day, end day, weight)
_QUIET_MONTHS = (2, 8)


def stable_uuid(*parts: object) -> str:
    """A uuid-looking id derived from ``parts`` (deterministic, unlike uuid4)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:16]
    return str(uuid.UUID(bytes=digest, version=4))


@functools.lru_cache(maxsize=1024)
def seed_task_id(seed: int, source: str, month: int) -> str:
    """The ``found_by`` of seeded posts published in ``month`` (and of the seeded task)."""
    return stable_uuid("seed-task", seed, source, month)


def format_us(value: int, style: int) -> str:
    """µs since the epoch → one of the four doc_date spellings the API has been seen using."""
    days, rest = divmod(value, _DAY_US)
    seconds, micros = divmod(rest, 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    base = f"{_date_text(days)}T{hours:02d}:{minutes:02d}:{seconds:02d}"
    if style == 0:
        return f"{base}.{micros // 1000:03d}"  # no zone: UTC by convention
    if style == 1:
        return base + "Z"
    if style == 2:
        return f"{base}.{micros:06d}Z"
    return base + "+00:00"


@functools.lru_cache(maxsize=4096)
def _date_text(days: int) -> str:
    return dt.date.fromordinal(719_163 + days).isoformat()


def truncate_us(value: int, style: int) -> int:
    """The instant a ``format_us(value, style)`` string actually denotes."""
    if style == 0:
        return value - value % 1000
    if style == 2:
        return value
    return value - value % 1_000_000


def iso_now() -> str:
    """Wall-clock now, the format task timestamps use (microseconds, Z)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _day_weights() -> list[float]:
    weights = []
    for day in range(366):
        month = (YEAR_START + dt.timedelta(days=day)).month
        weight = 0.15 if month in _QUIET_MONTHS else 1.0
        for first, end, busy in _BUSY:
            if first <= day < end:
                weight = busy
        weights.append(weight)
    return weights


def _allocate(count: int, weights: list[float]) -> list[int]:
    """Split ``count`` over days in proportion to weights (largest remainder: exact total)."""
    total = sum(weights)
    exact = [count * w / total for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: counts[i] - exact[i])
    for i in order[: count - sum(counts)]:
        counts[i] += 1
    return counts


@functools.lru_cache(maxsize=32)
def seeded_posts(seed: int, source: str, count: int) -> tuple[Post, ...]:
    """``count`` posts spread over 2024 with busy weeks and quiet months."""
    # Tens of thousands of fresh dicts trigger the cyclic GC over and over (~30% of the
    # build time); none of them is garbage yet, so pause it for the build.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build_seeded(seed, source, count)
    finally:
        if was_enabled:
            gc.enable()


def _build_seeded(seed: int, source: str, count: int) -> tuple[Post, ...]:
    rng = random.Random(f"{seed}|seed|{source}")
    maker = DocMaker(rng, source)
    posts: list[Post] = []
    seq = 0
    for day, per_day in enumerate(_allocate(count, _day_weights())):
        previous: tuple[str, int] | None = None
        for _ in range(per_day):
            if previous is not None and rng.random() < 0.03:
                doc_date, instant = previous  # some posts share the exact same doc_date
            else:
                style = seq % 4
                raw = _YEAR_START_US + day * _DAY_US + rng.randrange(_DAY_US)
                instant = truncate_us(raw, style)
                doc_date = format_us(instant, style)
            month = int(_date_text(instant // _DAY_US)[5:7])
            found_us = instant + rng.randrange(3_600, 72 * 3_600) * 1_000_000
            found = format_us(found_us - found_us % 1000, 0) + "Z"
            doc, tokens = maker.make(seq, doc_date, found, seed_task_id(seed, source, month), ())
            posts.append(Post(doc, instant, tokens))
            previous = (doc_date, instant)
            seq += 1
    return tuple(posts)


def task_posts(
    seed: int,
    source: str,
    task: dict[str, Any],
    *,
    run: int,
    first_seq: int,
    count: int,
    found: str,
) -> list[Post]:
    """The posts a finished task brings in: dated inside [from_date, to_date + 1 day)."""
    start = _moment(task["from_date"])
    # A day's date covers the whole day; a date-time (posts added without a task) is exact.
    end = _moment(task["to_date"]) + dt.timedelta(days=1 if len(task["to_date"]) == 10 else 0)
    start_us = int((start - _EPOCH).total_seconds()) * 1_000_000
    span = max(1, int((end - start).total_seconds()) * 1_000_000)
    value = str(task["value"])
    rng = random.Random(f"{seed}|task|{source}|{value}|{task['from_date']}|{task['to_date']}|{run}")
    maker = DocMaker(rng, source)
    value_words = tuple(value.replace("#", " ").replace("/", " ").split())
    posts = []
    for i in range(count):
        style = (first_seq + i) % 4
        instant = truncate_us(start_us + rng.randrange(span), style)
        doc, tokens = maker.make(
            first_seq + i, format_us(instant, style), found, task["id"], value_words
        )
        posts.append(Post(doc, instant, tokens))
    return posts


def dated_posts(
    seed: int, source: str, *, first_seq: int, doc_dates: list[str], found: str
) -> list[Post]:
    """Posts dated exactly ``doc_dates`` (the text kept as given), found at ``found``, with no
    task: for tests that need posts a fraction of a millisecond apart."""
    rng = random.Random(f"{seed}|dated|{source}|{first_seq}")
    maker = DocMaker(rng, source)
    posts = []
    for i, doc_date in enumerate(doc_dates):
        instant = instant_us(doc_date)
        if instant is None:
            msg = "doc_dates must not hold empty dates"
            raise ValueError(msg)
        doc, tokens = maker.make(first_seq + i, doc_date, found, None, ())
        posts.append(Post(doc, instant, tokens))
    return posts


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
