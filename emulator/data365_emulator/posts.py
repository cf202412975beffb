"""One searchable document and the per-index store of them, sorted by ``doc_date``.

Everything expensive about a post (its JSON bytes, its word lists, its flattened fields) is
computed on first use and kept, because a benchmark serves the same posts thousands of times
and most posts are never matched by a word query at all.
"""

from __future__ import annotations

import bisect
import re
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import msgspec

from data365_emulator.instants import instant_us

_WORDS = re.compile(r"[^\W_]+")
#: Fields a bare (field-less) term or phrase is matched against.
DEFAULT_FIELDS = (
    "content.body",
    "content.title",
    "content.hashtags",
    "author.handle",
    "author.name",
)
DATE_FIELDS = frozenset({"doc_date", "content.published", "content.found"})

_encode = msgspec.json.Encoder().encode


def words(text: str) -> list[str]:
    """Lower-cased words, the one tokenizer used for documents and query terms alike."""
    return _WORDS.findall(text.lower())


def _flatten(prefix: str, value: object, out: dict[str, list[object]]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    elif isinstance(value, list):
        for inner in value:
            _flatten(prefix, inner, out)
    elif value is not None:
        out.setdefault(prefix, []).append(value)


class Post:
    """A document plus its sort key; treat ``doc`` as read-only once built."""

    __slots__ = (
        "_default",
        "_encoded",
        "_fields",
        "_found",
        "_words",
        "doc",
        "doc_id",
        "instant",
        "rank",
    )

    def __init__(
        self, doc: dict[str, Any], instant: int, default_words: tuple[str, ...] | None = None
    ) -> None:
        self.doc = doc
        self.doc_id: str = doc["id"]
        self.instant = instant  # doc_date in µs since the epoch
        # A stable per-document number: "relevance" order mixes it with the query's hash.
        self.rank = zlib.crc32(f"{doc['data_source']}/{self.doc_id}".encode())
        self._encoded: bytes | None = None
        self._fields: dict[str, list[object]] | None = None
        self._words: dict[str, list[str]] = {}
        self._found: int | None = None
        self._default: tuple[tuple[str, ...], frozenset[str]] | None = None
        if default_words is not None:
            self._default = (default_words, frozenset(default_words))

    @property
    def encoded(self) -> bytes:
        if self._encoded is None:
            self._encoded = _encode(self.doc)
        return self._encoded

    @property
    def fields(self) -> dict[str, list[object]]:
        """Dotted field name → its scalar values (lists flattened)."""
        if self._fields is None:
            flat: dict[str, list[object]] = {}
            _flatten("", self.doc, flat)
            self._fields = flat
        return self._fields

    @property
    def default_words(self) -> tuple[tuple[str, ...], frozenset[str]]:
        """Words of the default fields, in order (for phrases) and as a set (for terms).

        Read straight from the document rather than via ``fields``: flattening every post
        made the first bare-word query over 25k posts take seconds.
        """
        if self._default is None:
            content = self.doc.get("content") or {}
            author = self.doc.get("author") or {}
            parts = [content.get("body"), content.get("title"), author.get("handle"),
                     author.get("name"), *(content.get("hashtags") or ())]  # fmt: skip
            # "\n" keeps a phrase from matching across two fields' boundary.
            found: list[str] = []
            for part in parts:
                if part:
                    found.extend(words(str(part)))
                    found.append("\n")
            self._default = (tuple(found), frozenset(found))
        return self._default

    def field_words(self, field: str) -> list[str]:
        """All words of a field's values (for term and phrase matching)."""
        found = self._words.get(field)
        if found is None:
            found = [w for value in self.fields.get(field, ()) for w in words(str(value))]
            self._words[field] = found
        return found

    def date(self, field: str) -> int | None:
        """A date field as µs since the epoch; ``doc_date`` and published share ``instant``."""
        if field in ("doc_date", "content.published"):
            return self.instant
        if field == "content.found":
            if self._found is None:
                self._found = instant_us(self.doc.get("content", {}).get("found")) or 0
            return self._found
        values = self.fields.get(field)
        return instant_us(values[0]) if values else None


class Index:
    """The posts of one ``data365_<source>`` index, kept sorted by (doc_date, arrival)."""

    def __init__(self, name: str, posts: Sequence[Post] = ()) -> None:
        self.name = name
        self.lock = threading.Lock()
        ordered = sorted(posts, key=_instant)
        # Posts and their instants are swapped in as one tuple so readers never see a mix.
        self._data: tuple[list[Post], list[int]] = (ordered, [p.instant for p in ordered])
        self.next_seq = len(ordered)  # numbers the ids of posts added later

    def __len__(self) -> int:
        return len(self._data[0])

    def __iter__(self) -> Iterator[Post]:
        return iter(self._data[0])

    def add(self, posts: Sequence[Post]) -> None:
        with self.lock:
            merged = [*self._data[0], *posts]
            merged.sort(key=_instant)  # stable: equal instants keep arrival order
            self._data = (merged, [p.instant for p in merged])

    def window(
        self, low: int | None, high: int | None, inc_low: bool, inc_high: bool
    ) -> list[Post]:
        """Posts with doc_date inside the bounds, by bisection (None = open end)."""
        posts, instants = self._data
        start = 0
        if low is not None:
            start = (bisect.bisect_left if inc_low else bisect.bisect_right)(instants, low)
        stop = len(posts)
        if high is not None:
            stop = (bisect.bisect_right if inc_high else bisect.bisect_left)(instants, high)
        return posts[start:stop] if start < stop else []


def _instant(post: Post) -> int:
    return post.instant
