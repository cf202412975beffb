"""``POST /api/search`` and ``POST /api/count``: limits, ordering, paging, response bytes.

Speed matters more here than anywhere: the benchmark pages 10k-post windows 100 at a time.
A query's ordered hit list is computed once and kept in a small LRU, so each further page is
a list slice plus a join of pre-encoded JSON documents.
"""

from __future__ import annotations

import dataclasses
import threading
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from data365_emulator import lucene, matching
from data365_emulator.config import EmulatorConfig
from data365_emulator.errors import ApiError
from data365_emulator.instants import PRECISION_US
from data365_emulator.posts import DATE_FIELDS, Post
from data365_emulator.store import Indexes

MAX_SIZE = 100
MAX_FROM = 9_900
RESULT_WINDOW = 10_000
MAX_QUERY_CHARS = 4_096
_CACHE_SIZE = 64


@dataclasses.dataclass(frozen=True)
class Order:
    """How hits are ordered: ``field`` None means the stable pseudo-random "relevance"."""

    field: str | None = None
    descending: bool = True


@dataclasses.dataclass(frozen=True)
class Request:
    query: str
    sources: tuple[str, ...]
    start: int
    size: int
    order: Order
    search_after: tuple[str, ...] | None


class SearchEngine:
    def __init__(self, indexes: Indexes) -> None:
        self._indexes = indexes
        self._cache: OrderedDict[tuple[object, ...], list[Post]] = OrderedDict()
        self._lock = threading.Lock()

    def search(self, body: object, cfg: EmulatorConfig) -> bytes:
        request = parse_request(body, cfg, counting=False)
        ranges = _ranges(cfg)
        hits = self.hits(request.query, request.sources, request.order, ranges)
        unit = ranges.date_unit
        if request.search_after is not None:
            hits = _after(hits, request.order, request.search_after, unit)
            page = hits[: request.size]
        else:
            page = hits[request.start : request.start + request.size]
            if cfg.unstable_page_from and request.start == cfg.unstable_page_from:
                page = page[: len(page) // 2]
        parts = [b'{"results":[', b",".join(p.encoded for p in page), b"]"]
        if cfg.include_total:
            parts.append(b',"total":{"value":%d}' % len(hits))
        if cfg.include_search_after and page:
            token = _sort_value(page[-1], request.order, unit)
            parts.append(b',"search_after":["%s"]' % token.encode())
        parts.append(b"}")
        return b"".join(parts)

    def count(self, body: object, cfg: EmulatorConfig) -> int:
        request = parse_request(body, cfg, counting=True)
        order = Order("doc_date", False)
        return len(self.hits(request.query, request.sources, order, _ranges(cfg)))

    def hits(
        self,
        query: str,
        sources: tuple[str, ...],
        order: Order,
        ranges: matching.RangeModes = matching.HONOUR_RANGES,
    ) -> list[Post]:
        """Every matching post, ordered; cached per (query, sources, order, ranges, version)."""
        key = (query, sources, order, ranges, self._indexes.version)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        try:
            node = matching.apply_range_modes(lucene.parse(query), ranges)
            plan = matching.plan(node, ranges.date_unit)
        except lucene.LuceneError as exc:
            raise ApiError(400, f"invalid query: {exc}") from None
        window = plan.window
        found: list[Post] = []
        for source in sources:
            posts = self._indexes.get(source).window(
                window.low, window.high, window.include_low, window.include_high
            )
            found.extend(posts if plan.predicate is None else filter(plan.predicate, posts))
        _sort(found, order, f"{query}|{','.join(sources)}")
        with self._lock:
            self._cache[key] = found
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return found


def _ranges(cfg: EmulatorConfig) -> matching.RangeModes:
    return matching.RangeModes(
        found=cfg.found_ranges,
        doc_date=cfg.doc_date_ranges,
        date_unit=PRECISION_US[cfg.date_precision],
    )


def _sort(posts: list[Post], order: Order, salt: str) -> None:
    if order.field is None:
        # Deterministic "relevance": a per-query permutation, stable across processes.
        mix = zlib.crc32(salt.encode())
        posts.sort(key=lambda p: (((p.rank ^ mix) * 2_654_435_761) & 0xFFFFFFFF, p.doc_id))
    elif order.field in ("doc_date", "content.published"):
        posts.sort(key=_instant, reverse=order.descending)  # index order: nearly free
    elif order.field in DATE_FIELDS:
        posts.sort(key=lambda p: p.date("content.found") or 0, reverse=order.descending)
    else:
        field = order.field
        posts.sort(key=lambda p: str(p.fields.get(field, [""])[0]), reverse=order.descending)


def _instant(post: Post) -> int:
    return post.instant


def _millis(value: int | None, unit: int) -> int:
    """A date as the index reads it (``unit`` µs), in epoch ms: what a date sorts by."""
    value = value or 0
    return (value - value % unit) // 1000


def _sort_value(post: Post, order: Order, unit: int) -> str:
    """The ``search_after`` token of a hit: epoch ms of its sort date (doc_date for relevance)."""
    field = order.field or "doc_date"
    if field in DATE_FIELDS:
        return str(_millis(post.date(field), unit))
    return str(post.fields.get(field, [""])[0])


def _after(hits: list[Post], order: Order, token: tuple[str, ...], unit: int) -> list[Post]:
    """The hits strictly after ``token`` in the request's order (date sorts only)."""
    field = order.field or "doc_date"
    if field not in DATE_FIELDS:
        raise ApiError(400, "search_after needs a sort on doc_date, content.published or found")
    try:
        mark = int(float(token[0]))
    except ValueError:
        raise ApiError(400, f"search_after value is not epoch milliseconds: {token[0]!r}") from None
    for i, post in enumerate(hits):
        millis = _millis(post.date(field), unit)
        if (millis < mark) if order.descending else (millis > mark):
            return hits[i:]
    return []


def parse_request(body: object, cfg: EmulatorConfig, *, counting: bool) -> Request:
    """Validate the documented limits (reference §4.3) → a Request, or ApiError 400."""
    outer = body.get("query") if isinstance(body, Mapping) else None
    if not isinstance(outer, Mapping):
        raise ApiError(400, 'body must be {"query": {...}}')
    query = outer.get("query", "*")
    if query is None:
        query = "*"
    if not isinstance(query, str):
        raise ApiError(400, "query.query must be a string")
    if len(query) > MAX_QUERY_CHARS:
        raise ApiError(400, f"query.query is longer than {MAX_QUERY_CHARS} characters")
    sources = _sources(outer.get("data_sources"))
    search_after = _search_after(outer.get("search_after"))
    order = _order(outer.get("sort"), cfg)
    if search_after is not None and order.field is None:
        order = Order("doc_date", True)  # search_after only makes sense in a date order
    start = size = 0
    if not counting:
        size = _int(outer, "size", 100 if search_after is not None else 10)
        start = 0 if search_after is not None else _int(outer, "from", 0)
        if not 1 <= size <= MAX_SIZE:
            raise ApiError(400, f"query.size must be between 1 and {MAX_SIZE}")
        if not 0 <= start <= MAX_FROM:
            raise ApiError(400, f"query.from must be between 0 and {MAX_FROM}")
        if start + size > RESULT_WINDOW:
            raise ApiError(400, f"query.from + query.size must not exceed {RESULT_WINDOW}")
    return Request(query, sources, start, size, order, search_after)


def _int(outer: Mapping[str, Any], key: str, default: int) -> int:
    value = outer.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"query.{key} must be an integer")
    return value


def _sources(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ApiError(400, "query.data_sources must be a non-empty list")
    sources = []
    for name in value:
        source = Indexes.source_of(name) if isinstance(name, str) else None
        if source is None:
            raise ApiError(400, f"unknown data source: {name}")
        if source not in sources:
            sources.append(source)
    return tuple(sources)


def _order(value: object, cfg: EmulatorConfig) -> Order:
    if value is not None:
        if not isinstance(value, list) or not all(isinstance(s, Mapping) for s in value):
            raise ApiError(400, 'query.sort must be a list of {"field": ..., "order": ...}')
        if value and cfg.honour_sort:
            first = value[0]
            field, direction = first.get("field"), str(first.get("order", "desc")).lower()
            if not isinstance(field, str) or not field or direction not in ("asc", "desc"):
                raise ApiError(400, "query.sort entries need a field and order asc or desc")
            return Order(field, direction == "desc")
    if cfg.search_order == "relevance":
        return Order(None)
    return Order("doc_date", cfg.search_order == "doc_date_desc")


def _search_after(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value)
    ):
        raise ApiError(400, "query.search_after must be a non-empty list of values")
    return tuple(str(v) for v in value)
