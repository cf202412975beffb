"""Realistic, varied documents for one source, drawn from one random stream.

Used for the seeded indexes, the posts a finished task brings in and live arrivals alike, so
every post has the same shape whatever brought it in.
"""

from __future__ import annotations

import random
from typing import Any

from data365_emulator.posts import words

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
_CLEAN_WORDS = frozenset((*_FILLER, *KEYWORDS))


def _tokens(word: str) -> list[str]:
    return [word] if word in _CLEAN_WORDS else words(word)


class _Bits:
    """One big random number carved into small choices: ~10x faster than many rng calls,
    which matters for 25k posts at start-up."""

    __slots__ = ("pool",)

    def __init__(self, pool: int) -> None:
        self.pool = pool

    def take(self, n: int) -> int:
        self.pool, value = divmod(self.pool, n)
        return value


class DocMaker:
    """Builds the documents of one source; ``rng`` draws every choice unless ``make`` is
    handed a random stream of its own (live arrivals: one stream per post)."""

    def __init__(self, rng: random.Random, source: str) -> None:
        self.rng = rng
        self.source = source
        self.index = "data365_" + source
        self.platform = source.split("_", 1)[0]
        self.host = _HOSTS[self.platform]
        self.bare_ids = self.platform in ("twitter", "tiktok")
        self.handles = [
            f"{rng.choice(_ADJECTIVES)}_{rng.choice(_NOUNS)}{rng.randrange(1000)}"
            for _ in range(300)
        ]
        self.handle_words = {handle: words(handle) for handle in self.handles}

    def make(
        self,
        seq: int,
        doc_date: str,
        found: str,
        found_by: str | None,
        extra_words: tuple[str, ...],
        *,
        rng: random.Random | None = None,
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """The document and its default-field words (what ``Post.default_words`` computes).

        Knowing the words already, the generator hands them over: tokenizing 25k bodies on
        the first word query would cost the better part of a second.
        """
        bits = _Bits((rng or self.rng).getrandbits(256))
        # Unique per index: the sequence number is part of every id.
        base = 1_740_000_000_000_000_000 if self.bare_ids else 100_000_000_000_000
        native = str(base + seq * 1000 + bits.take(1000))
        handle = self.handles[bits.take(len(self.handles))]
        topics = [_TOPIC_TABLE[bits.take(len(_TOPIC_TABLE))] for _ in range(1 + bits.take(2))]
        body_words = list(_PHRASES[bits.take(len(_PHRASES))])
        for word in (*topics, *extra_words):
            body_words.insert(bits.take(len(body_words) + 1), word)
        hashtags = sorted({t for t in topics if bits.take(2)})
        body = " ".join(body_words).capitalize()
        if hashtags:
            body += " " + " ".join("#" + h for h in hashtags)
        doc = self._document(bits, native, handle, topics, doc_date)
        doc["content"].update(body=body, found=found, found_by=found_by, hashtags=hashtags)
        doc["meta_data"]["job_id"] = found_by
        if bits.take(50) == 0:  # fields the tap has never heard of must survive
            doc["extra_field_v2"] = {"schema_version": 2, "flags": ["beta"]}
        handle_words = self.handle_words[handle]
        tokens = [w for word in body_words for w in _tokens(word)]
        tokens += [*hashtags, "\n", *handle_words, "\n"]
        tokens += [*handle_words, "\n", *(t for h in hashtags for t in (h, "\n"))]
        return doc, tuple(tokens)

    def _document(
        self, bits: _Bits, native: str, handle: str, topics: list[str], doc_date: str
    ) -> dict[str, Any]:
        # The draws happen in the order the documents were first generated in: the seeded
        # data stays the same post for post.
        block = self._platform_block(native, bits.take(500), bits.take(10**6))
        return {
            "data_source": self.index,
            "meta_data": {"job_label": f"data365-{self.source}", "job_id": None},
            "id": native if self.bare_ids else f"{native}-{self.index}",
            "doc_date": doc_date,
            self.platform: block,
            "author": {
                "handle": handle,
                "url": f"{self.host}/{handle}",
                "name": handle.replace("_", " ").title(),
            },
            "content": {
                "body": "",
                "published": doc_date,
                "found": None,
                "found_by": None,
                "likes_count": _LIKES[bits.take(len(_LIKES))] + bits.take(10),
                "links": [f"https://example.com/{t}/{native[-6:]}" for t in topics[: bits.take(3)]],
                "hashtags": [],
            },
            "enrichment": {
                "language": _LANGUAGES[bits.take(len(_LANGUAGES))],
                "sentiment": _SENTIMENTS[bits.take(len(_SENTIMENTS))],
            },
            "source": {"link": f"{self.host}/{handle}/status/{native}"},
        }

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
