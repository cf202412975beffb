"""Posts whose values come in odd shapes (config ``odd_values``), as an untyped API may send.

Every ``EVERY``-th seeded post gets one of the variants below, in turn: counts as text, dates
in other spellings, lists sent as one string, values no type can hold, a block that is not an
object, and fields nobody declared. Posts are copied, never changed in place: the seeded
posts are shared between emulators of one process.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from typing import Any

from data365_emulator.posts import Post

EVERY = 7

PLATFORMS = ("twitter", "tiktok", "instagram", "facebook", "linkedin")


def _platform(doc: dict[str, Any]) -> dict[str, Any]:
    return next(doc[name] for name in PLATFORMS if name in doc)


def counts_as_text(doc: dict[str, Any]) -> None:
    content = doc["content"]
    content["likes_count"] = str(content["likes_count"])
    block = _platform(doc)
    for key, value in block.items():
        if isinstance(value, int) and not isinstance(value, bool):
            block[key] = f"{value:,}"  # "1,234": thousands separators too


def other_date_spellings(doc: dict[str, Any]) -> None:
    content = doc["content"]
    # "2024-03-05 10:11:12+00:00" and epoch milliseconds as a number.
    content["published"] = content["published"][:19].replace("T", " ") + "+00:00"
    content["last_updated"] = 1_717_200_000_000


def lists_as_text(doc: dict[str, Any]) -> None:
    content = doc["content"]
    content["hashtags"] = " ".join("#" + tag for tag in content["hashtags"]) or "#none"
    content["links"] = json.dumps(content["links"])
    content["mentions"] = "@alice, @bob"


def unreadable_values(doc: dict[str, Any]) -> None:
    content = doc["content"]
    content["likes_count"] = "1.2K"
    content["last_updated"] = "yesterday"
    content["image_urls"] = [{"url": "https://example.com/a.jpg", "width": 640}]
    doc["enrichment"]["sentiment"] = {"label": "positive", "score": 0.93}


def block_not_an_object(doc: dict[str, Any]) -> None:
    doc["author"] = "@" + doc["author"]["handle"]
    doc["enrichment"] = None


def undeclared_fields(doc: dict[str, Any]) -> None:
    doc["content"]["view_count_v2"] = 17
    _platform(doc)["bookmark_count"] = 3
    doc["author"]["verified"] = True


VARIANTS: tuple[Callable[[dict[str, Any]], None], ...] = (
    counts_as_text,
    other_date_spellings,
    lists_as_text,
    unreadable_values,
    block_not_an_object,
    undeclared_fields,
)


def variant_of(position: int) -> Callable[[dict[str, Any]], None] | None:
    """The variant the post at ``position`` gets, None for a post left as it is."""
    if position % EVERY != EVERY - 1:
        return None
    return VARIANTS[(position // EVERY) % len(VARIANTS)]


def with_odd_values(posts: Sequence[Post]) -> list[Post]:
    """The posts, every ``EVERY``-th one replaced by a copy in an odd shape."""
    out = list(posts)
    for position, post in enumerate(out):
        variant = variant_of(position)
        if variant is not None:
            doc = copy.deepcopy(post.doc)
            variant(doc)
            # The search words stay those of the original (a string author has no handle).
            out[position] = Post(doc, post.instant, post.default_words[0])
    return out
