"""Search hits → ``search_results`` records, each with its dates normalised once.

Posts without an ``id`` or with a ``doc_date`` nobody can read are neither dropped nor merged
(nothing lost): a post without an id gets one that is the same on every read (from its
``source.link``, else a hash of the post), and an unreadable ``doc_date`` becomes null with
the value as sent kept. Those posts are counted rather than logged one by one, so the sync
warns once per index and kind, with the count and an example id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections.abc import Mapping
from typing import Any

from tap_data365.errors import ShapeError
from tap_data365.normalize import (
    normalize_timestamp,
    normalize_utc_iso,
    parse_timestamp,
    unwrap_list,
)
from tap_data365.search_results.ranges import Post, Record

#: Where an unreadable doc_date is kept as sent (moved under extra_fields like any field
#: the schema does not declare).
RAW_DATE_FIELD = "doc_date_raw"
#: A number read as epoch seconds or milliseconds is a post date only between these bounds
#: (the upper one is a day ahead of now): 12 would be 1970-01-01T00:00:12Z, more likely a
#: count or an id than a date. Dates spelt out (ISO strings) are taken as sent.
PLAUSIBLE_FROM = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
PLAUSIBLE_AHEAD = dt.timedelta(days=1)


def stable_id(document: Mapping[str, Any]) -> str:
    """An id for a post that has none: ``link:<source.link>``, else ``sha256:<hash>``."""
    source = document.get("source")
    link = source.get("link") if isinstance(source, Mapping) else None
    if isinstance(link, str) and link.strip():
        return f"link:{link.strip()}"
    canonical = json.dumps(document, sort_keys=True, default=str, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


class HitWarnings:
    """Counts of posts given an id or a null doc_date, for one warning each (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._examples: dict[str, str] = {}

    def note(self, kind: str, example_id: str) -> None:
        with self._lock:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            self._examples.setdefault(kind, example_id)

    def warnings(self, index: str) -> list[str]:
        """One line per kind seen, naming the count and the first id."""
        lines = []
        missing = self._counts.get("no_id")
        if missing:
            lines.append(
                f"{missing} post(s) of {index} came without an id and were given a stable one "
                f"from source.link or a hash of the post (e.g. {self._examples['no_id']})"
            )
        unreadable = self._counts.get("bad_date")
        if unreadable:
            lines.append(
                f"{unreadable} post(s) of {index} have a doc_date that is missing, null or "
                f"cannot be read; delivered with doc_date null and any value sent kept in "
                f"{RAW_DATE_FIELD} (e.g. id {self._examples['bad_date']})"
            )
        implausible = self._counts.get("implausible_date")
        if implausible:
            lines.append(
                f"{implausible} post(s) of {index} have a numeric doc_date that is no plausible "
                "date (before 2000-01-01 or more than a day ahead as epoch seconds or ms); "
                f"delivered with doc_date null and the value kept in {RAW_DATE_FIELD} "
                f"(e.g. id {self._examples['implausible_date']})"
            )
        return lines


_HIT_LIST_KEYS = ("results", "hits", "documents", "data", "items")


def search_hits(payload: object) -> list[dict[str, Any]]:
    """Search response body → the raw documents (Elasticsearch-style ``_source`` unwrapped)."""
    hits = unwrap_list(payload, _HIT_LIST_KEYS, of="posts")
    documents = []
    for hit in hits:
        if type(hit) is dict and "_source" not in hit:
            documents.append(hit)  # the API's own shape: a freshly decoded body is ours to change
            continue
        if not isinstance(hit, Mapping):
            msg = "search results hold entries that are not objects"
            raise ShapeError(msg)
        source = hit.get("_source")
        document = source if isinstance(source, Mapping) and "id" not in hit else hit
        # Only another mapping type is copied.
        documents.append(document if type(document) is dict else dict(document))
    return documents


def count_total(payload: object) -> int | None:
    """Count API body → the number of posts, None when the shape says nothing usable.

    ``{"total": N}`` or Elasticsearch's ``{"total": {"value": N}}``; anything else (a missing
    or negative total, a float, a string) is None, and the caller stops trusting counts.
    """
    total = payload.get("total") if isinstance(payload, Mapping) else None
    value = total.get("value") if isinstance(total, Mapping) else total
    return value if type(value) is int and value >= 0 else None


def search_post(document: Record, index: str, warnings: HitWarnings | None = None) -> Post:
    """A search document → the ``search_results`` record, changed as little as possible,
    carried with its id and dates for the sync.

    Only ``doc_date`` and ``content.found`` are rewritten (to the fixed-width UTC format,
    as the schema's conformance would; ``doc_date`` from ``content.published`` when the API
    sends none); ``data_source`` and a string ``id`` are guaranteed (see HitWarnings for
    posts without either). Every other field is kept as sent.
    """
    warnings = warnings or HitWarnings()
    doc_id = document.get("id")
    if type(doc_id) is not str or not doc_id:
        doc_id = _ensure_id(document, doc_id, warnings)
    raw_date = document.get("doc_date")
    if raw_date is None:
        content = document.get("content")
        raw_date = content.get("published") if isinstance(content, Mapping) else None
    # An ISO date in UTC (every post the API sends) is plausible: only numbers are checked.
    doc_date = normalize_utc_iso(raw_date) if type(raw_date) is str else None
    if doc_date is not None:
        document["doc_date"] = doc_date
    else:
        doc_date = _read_date(document, raw_date, warnings)
    if doc_date is not None and raw_date is not None:
        _share_published(document, raw_date, doc_date)
    found = _normalize_found(document)
    if not document.get("data_source"):
        document["data_source"] = index
    return Post(document, doc_id, doc_date, found)


def _ensure_id(document: Record, doc_id: object, warnings: HitWarnings) -> str:
    """The post's id as a string; a stable one when it has none (see HitWarnings)."""
    if doc_id is None or doc_id == "":
        new_id = document["id"] = stable_id(document)  # before any field changes: the
        warnings.note("no_id", new_id)  # same post, the same id
        return new_id
    new_id = document["id"] = str(doc_id)
    return new_id


def _read_date(document: Record, raw_date: object, warnings: HitWarnings) -> str | None:
    """``doc_date`` in any other spelling (None: missing, unreadable or implausible, the
    value as sent kept in RAW_DATE_FIELD)."""
    try:
        doc_date = document["doc_date"] = normalize_timestamp(raw_date)
        problem = "bad_date" if raw_date is None else _implausible(raw_date)
    except (ValueError, OverflowError, OSError):
        problem = "bad_date"
    if problem:
        doc_date = document["doc_date"] = None
        if raw_date is not None:
            document[RAW_DATE_FIELD] = raw_date
        warnings.note(problem, document["id"])
    return doc_date


def _implausible(raw_date: object) -> str | None:
    """ "implausible_date" for an epoch number (or digit string) outside the plausible range."""
    numeric = isinstance(raw_date, int | float) or (
        isinstance(raw_date, str) and raw_date.strip().isdigit()
    )
    moment = parse_timestamp(raw_date) if numeric else None
    if moment is None:
        return None
    latest = dt.datetime.now(dt.UTC) + PLAUSIBLE_AHEAD
    return None if PLAUSIBLE_FROM <= moment <= latest else "implausible_date"


def _share_published(document: Record, raw_date: object, doc_date: str) -> None:
    """``content.published`` sent as the very value ``doc_date`` was read from gets the
    normalised ``doc_date``: what the conformance would write, without parsing it again."""
    content = document.get("content")
    if type(content) is not dict:
        return
    published = content.get("published")
    if published is raw_date or (type(published) is type(raw_date) and published == raw_date):
        content["published"] = doc_date


def _normalize_found(document: Record) -> str | None:
    """``content.found`` in the fixed-width format, once: the conformance then keeps it as
    it is. An unreadable value stays as sent (the conformance keeps it in ``extra_fields``).
    Returns the post's discovery date for the sync (None: absent or unreadable)."""
    content = document.get("content")
    if type(content) is not dict:
        return None
    found = content.get("found")
    if found is None:
        return None
    if type(found) is str:
        fixed = normalize_utc_iso(found)
        if fixed is not None:
            content["found"] = fixed
            return fixed
    try:
        normalized = normalize_timestamp(found)
    except (ValueError, OverflowError, OSError):
        return None  # an unreadable date cannot be checked; the record keeps it as sent
    if not isinstance(found, bool | dict | list):
        content["found"] = normalized  # what the conformance refuses is left as sent
    return normalized
