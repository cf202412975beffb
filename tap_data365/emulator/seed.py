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

from tap_data365.emulator.posts import Post, words

YEAR_START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAY_US = 86_400_000_000
_YEAR_START_US = int((YEAR_START - _EPOCH).total_seconds()) * 1_000_000

KEYWORDS = (
    "covid", "bitcoin", "tesla", "worldcup", "election", "climate", "spacex", "olympics",
    "crypto", "vaccine", "football", "music", "travel", "food", "hellokitty",
)  # fmt: skip
# Skewed weights so each keyword selects a differently sized subset.
_KEYWORD_WEIGHTS = (9, 8, 7, 3, 6, 5, 4, 3, 6, 4, 5, 5, 4, 4, 2)
# Keywords repeated by weight: an index into this table is a weighted choice.
_TOPIC_TABLE = tuple(k for k, w in zip(KEYWORDS, _KEYWORD_WEIGHTS, strict=True) for _ in range(w))
_LIKES = (0, 0, 0, 0, 1, 2, 3, 5, 10, 25, 60, 150, 400, 1200)
_TWEET_TYPES = ("POST",) * 8 + ("REPLY", "QUOTE")
_FILLER = (
    "the", "new", "today", "great", "news", "about", "just", "watch", "this", "thread",
    "love", "big", "week", "update", "price", "market", "fans", "video", "live", "best",
    "city", "team", "launch", "report", "world", "people", "time", "check", "story", "now",
)  # fmt: skip
# Pre-built filler sentences: picking one is much cheaper than drawing each word.
_phrase_rng = random.Random("filler-phrases")
_PHRASES = tuple(
    tuple(_phrase_rng.choice(_FILLER) for _ in range(_phrase_rng.randint(5, 14)))
    for _ in range(997)
)
_ADJECTIVES = ("happy", "blue", "quick", "silent", "brave", "lucky", "urban", "wild")
_NOUNS = ("otter", "falcon", "maker", "rider", "coder", "panda", "pilot", "chef")
_LANGUAGES = ("en", "en", "en", "en", "es", "de", "fr", "pt")
_SENTIMENTS = ("positive", "neutral", "neutral", "negative")
_HOSTS = {
    "twitter": "https://twitter.com",
    "tiktok": "https://www.tiktok.com",
    "instagram": "https://www.instagram.com",
    "facebook": "https://www.facebook.com",
    "linkedin": "https://www.linkedin.com",
}
# Busy weeks (several thousand posts each at scale 1) and quiet months, as day-of-year weights.
_BUSY = ((63, 77, 14.0), (161, 168, 12.0), (308, 315, 10.0))  # (first day, end day, weight)
_QUIET_MONTHS = (2, 8)


_CLEAN_WORDS = frozenset((*_FILLER, *KEYWORDS))


def _tokens(word: str) -> list[str]:
    return [word] if word in _CLEAN_WORDS else words(word)


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
    maker = _DocMaker(rng, source)
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
    maker = _DocMaker(rng, source)
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


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class _DocMaker:
    """Builds realistic, varied documents for one source from one random stream."""

    def __init__(self, rng: random.Random, source: str) -> None:
        self.rng = rng
        self.source = source
        self.index = "data365_" + source
        self.platform = source.split("_", 1)[0]
        self.host = _HOSTS[self.platform]
        self.bare_ids = self.platform in ("twitter", "tiktok")
        self.handle_words: dict[str, list[str]] = {}
        self.handles = [
            f"{rng.choice(_ADJECTIVES)}_{rng.choice(_NOUNS)}{rng.randrange(1000)}"
            for _ in range(300)
        ]
        self._remember()

    def make(
        self,
        seq: int,
        doc_date: str,
        found: str,
        found_by: str | None,
        extra_words: tuple[str, ...],
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """The document and its default-field words (what ``Post.default_words`` computes).

        Knowing the words already, the generator hands them over: tokenizing 25k bodies on
        the first word query would cost the better part of a second.
        """
        # One big random number carved into small choices: ~10x faster than many rng calls,
        # which matters for 25k posts at start-up.
        pool = self.rng.getrandbits(256)

        def take(n: int) -> int:
            nonlocal pool
            pool, value = divmod(pool, n)
            return value

        # Unique per index: the sequence number is part of every id.
        if self.bare_ids:
            native = str(1_740_000_000_000_000_000 + seq * 1000 + take(1000))
            doc_id = native
        else:
            native = str(100_000_000_000_000 + seq * 1000 + take(1000))
            doc_id = f"{native}-{self.index}"
        handle = self.handles[take(len(self.handles))]
        topics = [_TOPIC_TABLE[take(len(_TOPIC_TABLE))] for _ in range(1 + take(2))]
        body_words = list(_PHRASES[take(len(_PHRASES))])
        for word in (*topics, *extra_words):
            body_words.insert(take(len(body_words) + 1), word)
        hashtags = sorted({t for t in topics if take(2)})
        body = " ".join(body_words).capitalize()
        if hashtags:
            body += " " + " ".join("#" + h for h in hashtags)
        link = f"{self.host}/{handle}/status/{native}"
        doc: dict[str, Any] = {
            "data_source": self.index,
            "meta_data": {"job_label": f"data365-{self.source}", "job_id": found_by},
            "id": doc_id,
            "doc_date": doc_date,
            self.platform: self._platform_block(native, take(500), take(10**6)),
            "author": {
                "handle": handle,
                "url": f"{self.host}/{handle}",
                "name": handle.replace("_", " ").title(),
            },
            "content": {
                "body": body,
                "published": doc_date,
                "found": found,
                "found_by": found_by,
                "likes_count": _LIKES[take(len(_LIKES))] + take(10),
                "links": [f"https://example.com/{t}/{native[-6:]}" for t in topics[: take(3)]],
                "hashtags": hashtags,
            },
            "enrichment": {
                "language": _LANGUAGES[take(len(_LANGUAGES))],
                "sentiment": _SENTIMENTS[take(len(_SENTIMENTS))],
            },
            "source": {"link": link},
        }
        if take(50) == 0:  # fields the tap has never heard of must survive
            doc["extra_field_v2"] = {"schema_version": 2, "flags": ["beta"]}
        tokens = [w for word in body_words for w in _tokens(word)]
        tokens += [*hashtags, "\n", *self.handle_words[handle], "\n"]
        tokens += [*self.handle_words[handle], "\n", *(t for h in hashtags for t in (h, "\n"))]
        return doc, tuple(tokens)

    def _remember(self) -> None:
        for handle in self.handles:
            self.handle_words[handle] = words(handle)

    def _platform_block(self, native: str, count: int, more: int) -> dict[str, Any]:
        if self.platform == "twitter":
            return {
                "user_id": str(10**8 + more * 997),
                "post_identifier": native,
                "quote_count": count % 7,
                "reply_count": count % 13,
                "retweet_count": count,
                "tweet_type": _TWEET_TYPES[more % len(_TWEET_TYPES)],
                "retweet_type": "RETWEET" if count % 9 == 0 else "NONE",
            }
        if self.platform == "tiktok":
            return {"content_type": "video", "play_count": count * 37, "share_count": count % 50}
        if self.platform == "instagram":
            return {"shortcode": native[-11:], "product_type": ("feed", "clips")[more % 2],
                    "comments_count": count % 90, "is_video": count % 3 == 0}  # fmt: skip
        if self.platform == "facebook":
            return {"post_type": ("status", "photo", "video", "link")[more % 4],
                    "reactions_total_count": count, "shares_count": count % 40}  # fmt: skip
        return {"company_urn": f"urn:li:organization:{more}", "reactions_count": count}
