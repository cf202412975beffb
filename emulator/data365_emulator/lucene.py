"""A small recursive-descent parser for the Lucene subset the emulator understands.

Grammar (keywords are upper case, as in Lucene's classic parser)::

    query   := or_expr EOF
    or_expr := and_expr (("OR" | "||") and_expr)*
    and_expr:= unary ((("AND" | "&&") unary) | unary)*      # juxtaposition means AND
    unary   := ("NOT" | "!" | "-") unary | "+" unary | primary
    primary := "(" or_expr ")" | "*" | [field ":"] value
    value   := word | '"phrase"' | range | "(" or_expr ")"     # a group applies the field
    range   := ("[" | "{") endpoint "TO" endpoint ("]" | "}")  # endpoint: word, "quoted" or *

Implicit operator: two terms side by side are ANDed. Lucene's default is OR, but every
search the tap builds spells its operators out, and AND makes a bare multi-word query select
a small subset, which is what tests want. Only the parser lives here; matching is in
``matching.py``.
"""

from __future__ import annotations

import dataclasses

# Characters that end a bare word (unless backslash-escaped).
_WORD_STOP = frozenset(' \t\r\n()[]{}":^~')
# Inside a quoted phrase only the closing quote ends it.
_QUOTE_STOP = frozenset('"')
_KEYWORDS = {"AND": "AND", "&&": "AND", "OR": "OR", "||": "OR", "NOT": "NOT"}


class LuceneError(ValueError):
    """The query string is not in the supported subset."""


@dataclasses.dataclass(frozen=True)
class MatchAll:
    """``*`` or ``*:*``."""


@dataclasses.dataclass(frozen=True)
class Term:
    """A bare word; ``*``/``?`` inside make it a wildcard. ``field`` None = default fields."""

    field: str | None
    text: str


@dataclasses.dataclass(frozen=True)
class Phrase:
    field: str | None
    text: str


@dataclasses.dataclass(frozen=True)
class Range:
    """``field:[low TO high}``; None endpoints are open (``*``)."""

    field: str
    low: str | None
    high: str | None
    include_low: bool
    include_high: bool


@dataclasses.dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclasses.dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclasses.dataclass(frozen=True)
class Not:
    child: Node


Node = MatchAll | Term | Phrase | Range | And | Or | Not


def parse(text: str) -> Node:
    """Parse a query string; an empty or blank query matches everything."""
    if not text.strip():
        return MatchAll()
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # ------------------------------------------------------------------ scanning helpers

    def error(self, message: str) -> LuceneError:
        return LuceneError(f"{message} at position {self.pos} in query {self.text!r}")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def keyword(self) -> str | None:
        """The operator keyword at the cursor, without consuming it."""
        self.skip_ws()
        for spelling, op in _KEYWORDS.items():
            end = self.pos + len(spelling)
            if self.text.startswith(spelling, self.pos) and (
                spelling in ("&&", "||") or end >= len(self.text) or self.text[end] in _WORD_STOP
            ):
                return op
        return None

    def consume_keyword(self) -> None:
        self.skip_ws()
        for spelling in _KEYWORDS:
            if self.text.startswith(spelling, self.pos):
                self.pos += len(spelling)
                return

    def read_word(self, stops: frozenset[str] = _WORD_STOP) -> str:
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char in stops:
                break
            out.append(char)
            self.pos += 1
        return "".join(out)

    def read_quoted(self) -> str:
        self.pos += 1  # opening quote
        text = self.read_word(_QUOTE_STOP)
        if self.pos >= len(self.text):
            raise self.error("unterminated quote")
        self.pos += 1  # closing quote
        return text

    # ------------------------------------------------------------------ grammar

    def parse(self) -> Node:
        node = self.or_expr(None)
        if self.peek():
            raise self.error(f"unexpected {self.peek()!r}")
        return node

    def or_expr(self, field: str | None) -> Node:
        children = [self.and_expr(field)]
        while self.keyword() == "OR":
            self.consume_keyword()
            children.append(self.and_expr(field))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self, field: str | None) -> Node:
        children = [self.unary(field)]
        while True:
            op = self.keyword()
            if op == "AND":
                self.consume_keyword()
            elif op == "OR" or self.peek() in ("", ")"):
                break
            children.append(self.unary(field))
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self, field: str | None) -> Node:
        if self.keyword() == "NOT":
            self.consume_keyword()
            return Not(self.unary(field))
        char = self.peek()
        if char in ("!", "-"):
            self.pos += 1
            return Not(self.unary(field))
        if char == "+":
            self.pos += 1
            return self.unary(field)
        return self.primary(field)

    def primary(self, field: str | None) -> Node:
        char = self.peek()
        if not char:
            raise self.error("expected a term")
        if char == "(":
            return self.group(field)
        if char == '"':
            return Phrase(field, self.read_quoted())
        if char in "[{":
            if field is None:
                raise self.error("a range needs a field")
            return self.range(field)
        start = self.pos
        word = self.read_word()
        if not word:
            raise self.error(f"unexpected {char!r}")
        if self.pos < len(self.text) and self.text[self.pos] == ":":
            if field is not None:
                raise self.error("nested field")
            self.pos += 1
            if self.pos >= len(self.text) or self.text[self.pos].isspace():
                raise self.error(f"field {word!r} without a value")
            node = self.primary(word)
            if word == "*" and node == Term("*", "*"):
                return MatchAll()
            return node
        if word == "*" and field is None:
            return MatchAll()
        if word in _KEYWORDS:
            self.pos = start
            raise self.error(f"operator {word} without an operand")
        return Term(field, word)

    def group(self, field: str | None) -> Node:
        self.pos += 1
        node = self.or_expr(field)
        if self.peek() != ")":
            raise self.error("missing ')'")
        self.pos += 1
        return node

    def range(self, field: str) -> Range:
        include_low = self.text[self.pos] == "["
        self.pos += 1
        low = self.endpoint()
        if self.peek() != "T" or not self.text.startswith("TO", self.pos):
            raise self.error("expected TO in range")
        self.pos += 2
        high = self.endpoint()
        close = self.peek()
        if close not in ("]", "}"):
            raise self.error("expected ']' or '}' to close the range")
        self.pos += 1
        return Range(field, low, high, include_low, close == "]")

    def endpoint(self) -> str | None:
        if self.peek() == '"':
            return self.read_quoted()
        # Lucene's RANGE_GOOP: anything up to blank or a closing bracket, so ':' is allowed.
        value = self.read_word(frozenset(" \t\r\n]}"))
        if not value:
            raise self.error("missing range endpoint")
        return None if value == "*" else value
