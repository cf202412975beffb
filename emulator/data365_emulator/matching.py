"""Turn a parsed Lucene query into a predicate over posts, and find its date window.

The tap's searches look like ``(<user query>) AND doc_date:[A TO B}``. ``plan`` pulls such
top-level ``doc_date`` conjuncts out of the tree so the index can bisect to the window and
only the rest of the query is evaluated, post by post, inside it. Date ranges are read at the
index's precision (``date_precision``, instants.half_open), as Elasticsearch reads them.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Callable, Sequence

from data365_emulator import lucene
from data365_emulator.instants import half_open, instant_us
from data365_emulator.posts import DATE_FIELDS, DEFAULT_FIELDS, Post, words

Predicate = Callable[[Post], bool]
#: Fields whose order is the index order: a range on them is a bisect.
_WINDOW_FIELDS = frozenset({"doc_date", "content.published"})


@dataclasses.dataclass(frozen=True)
class Window:
    """doc_date bounds in µs; None is an open end."""

    low: int | None = None
    high: int | None = None
    include_low: bool = True
    include_high: bool = True

    def narrow(self, other: Window) -> Window:
        low, inc_low = self.low, self.include_low
        if other.low is not None and (
            low is None or other.low > low or (other.low == low and not other.include_low)
        ):
            low, inc_low = other.low, other.include_low
        high, inc_high = self.high, self.include_high
        if other.high is not None and (
            high is None or other.high < high or (other.high == high and not other.include_high)
        ):
            high, inc_high = other.high, other.include_high
        return Window(low, high, inc_low, inc_high)


@dataclasses.dataclass(frozen=True)
class RangeModes:
    """How ranges on ``content.found`` and on ``doc_date`` are treated (config switches):
    "honour", "ignore" (the clause matches every post) or "match_none"; ``date_unit``: the
    precision dates are indexed at, in µs (``date_precision``)."""

    found: str = "honour"
    doc_date: str = "honour"
    date_unit: int = 1_000


HONOUR_RANGES = RangeModes()
_NOTHING = lucene.Not(lucene.MatchAll())


def apply_range_modes(node: lucene.Node, modes: RangeModes) -> lucene.Node:
    """The query as a server with these range habits evaluates it."""
    if modes.found == "honour" and modes.doc_date == "honour":
        return node
    if isinstance(node, lucene.Range):
        mode = modes.found if node.field == "content.found" else None
        if node.field in _WINDOW_FIELDS:
            mode = modes.doc_date
        if mode == "ignore":
            return lucene.MatchAll()
        if mode == "match_none":
            return _NOTHING
        return node
    if isinstance(node, lucene.And):
        return lucene.And(tuple(apply_range_modes(c, modes) for c in node.children))
    if isinstance(node, lucene.Or):
        return lucene.Or(tuple(apply_range_modes(c, modes) for c in node.children))
    if isinstance(node, lucene.Not):
        return lucene.Not(apply_range_modes(node.child, modes))
    return node


@dataclasses.dataclass(frozen=True)
class Plan:
    window: Window
    predicate: Predicate | None  # None: every post in the window matches


def plan(node: lucene.Node, unit: int) -> Plan:
    """Split ``node`` into a bisectable doc_date window and a residual predicate (dates
    read at ``unit`` µs)."""
    conjuncts = node.children if isinstance(node, lucene.And) else (node,)
    window = Window()
    rest: list[lucene.Node] = []
    for child in conjuncts:
        if isinstance(child, lucene.Range) and child.field in _WINDOW_FIELDS:
            window = window.narrow(_date_window(child, unit))
        elif not isinstance(child, lucene.MatchAll):
            rest.append(child)
    if not rest:
        return Plan(window, None)
    residual = rest[0] if len(rest) == 1 else lucene.And(tuple(rest))
    return Plan(window, compile_node(residual, unit))


def _date_window(node: lucene.Range, unit: int) -> Window:
    """The range as a half-open µs window, read at ``unit`` µs."""
    low, high = half_open(
        _date_endpoint(node.low), _date_endpoint(node.high), node.include_low,
        node.include_high, unit,
    )  # fmt: skip
    return Window(low, high, include_low=True, include_high=False)


def _date_endpoint(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = instant_us(text)
    except ValueError:
        msg = f"not a date in range: {text!r}"
        raise lucene.LuceneError(msg) from None
    if value is None:
        msg = "empty date in range"
        raise lucene.LuceneError(msg)
    return value


def compile_node(node: lucene.Node, unit: int) -> Predicate:
    """The predicate for one node; ranges on date fields compare instants read at ``unit``."""
    if isinstance(node, lucene.MatchAll):
        return lambda _post: True
    if isinstance(node, lucene.And):
        parts = [compile_node(c, unit) for c in node.children]
        return lambda post: all(p(post) for p in parts)
    if isinstance(node, lucene.Or):
        parts = [compile_node(c, unit) for c in node.children]
        return lambda post: any(p(post) for p in parts)
    if isinstance(node, lucene.Not):
        inner = compile_node(node.child, unit)
        return lambda post: not inner(post)
    if isinstance(node, lucene.Range):
        return _compile_range(node, unit)
    return _compile_text(node.field, node.text, is_phrase=isinstance(node, lucene.Phrase))


def _compile_range(node: lucene.Range, unit: int) -> Predicate:
    field = node.field
    if field in DATE_FIELDS:
        window = _date_window(node, unit)

        def in_dates(post: Post) -> bool:
            value = post.date(field)
            return value is not None and _within(value, window.low, window.high, window)

        return in_dates
    low: object = _number(node.low)
    high: object = _number(node.high)
    numeric = (node.low is None or low is not None) and (node.high is None or high is not None)
    if not numeric:
        low, high = node.low, node.high
    bounds = Window(None, None, node.include_low, node.include_high)

    def in_range(post: Post) -> bool:
        for raw in post.fields.get(field, ()):
            value = _number(raw) if numeric else str(raw)
            if value is not None and _within(value, low, high, bounds):
                return True
        return False

    return in_range


def _within(value: object, low: object, high: object, bounds: Window) -> bool:
    # Callers pass comparable pairs (ints, floats or strings); typing cannot say so.
    if low is not None and (value < low or (value == low and not bounds.include_low)):  # type: ignore[operator]
        return False
    return high is None or not (value > high or (value == high and not bounds.include_high))  # type: ignore[operator]


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(str(value))
    except ValueError:
        return None


def _compile_text(field: str | None, text: str, *, is_phrase: bool) -> Predicate:
    fields: Sequence[str] = DEFAULT_FIELDS if field is None else (field,)
    lowered = text.lower()
    if not is_phrase and ("*" in text or "?" in text):
        pattern = re.compile(fnmatch.translate(lowered))

        def wildcard(post: Post) -> bool:
            for name in fields:
                if any(pattern.match(w) for w in post.field_words(name)):
                    return True
                if any(pattern.match(str(v).lower()) for v in post.fields.get(name, ())):
                    return True
            return False

        return wildcard
    wanted = words(text)
    if not wanted:
        return lambda _post: False
    if field is None:
        return _default_matcher(wanted)

    def matches(post: Post) -> bool:
        for name in fields:
            have = post.field_words(name)
            if len(wanted) == 1:
                if wanted[0] in have:
                    return True
            elif _contains_run(have, wanted):
                return True
            if field is not None and any(
                str(v).lower() == lowered for v in post.fields.get(name, ())
            ):
                return True
        return False

    return matches


def _default_matcher(wanted: list[str]) -> Predicate:
    """Bare terms and phrases: the hot path of user queries, on precomputed word sets."""
    if len(wanted) == 1:
        word = wanted[0]
        return lambda post: word in post.default_words[1]
    needed = frozenset(wanted)

    def phrase(post: Post) -> bool:
        ordered, present = post.default_words
        return needed <= present and _contains_run(ordered, wanted)

    return phrase


def _contains_run(have: Sequence[str], wanted: Sequence[str]) -> bool:
    """``wanted`` appears as consecutive words of ``have`` (compared as tuples: a list never
    equals a tuple slice)."""
    run, first, size = tuple(wanted), wanted[0], len(wanted)
    return any(word == first and tuple(have[i : i + size]) == run for i, word in enumerate(have))
