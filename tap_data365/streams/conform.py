"""Records that fit their stream's schema, with nothing lost: a plan built once per stream.

The API's documents are not typed and their shapes are undocumented, while warehouses build
typed columns from the schema and SDK targets validate records against it. So, per record:

- a field the schema does not declare moves into ``extra_fields`` at its own level (the
  record's or its block's): flattened tables have a column for every declared field, and
  ``<block>__extra_fields`` (JSON text) for the rest;
- a declared value of the wrong shape is converted when the conversion is exact (``"12"`` →
  12, any timestamp spelling → the tap's UTC format, ``["a", 1]`` → ``["a", "1"]``); a value
  that cannot be converted keeps null in its typed field and goes, as sent, to
  ``extra_fields`` under its own name; a guessed conversion (a hashtag list sent as one
  string) fills the typed field and also keeps the value as sent.

Most values already have their declared type: those are checked with one ``type()`` lookup,
so the per-record cost stays small (the search stream is the hot path).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import msgspec

from tap_data365.normalize import FIXED_WIDTH, normalize_timestamp

EXTRA = "extra_fields"

#: Converts a value of the wrong type: returns (value, keep_raw); ValueError if impossible.
Converter = Callable[[Any], tuple[Any, bool]]


class _Unconvertible(ValueError):
    pass


def _fail(value: object) -> tuple[Any, bool]:
    msg = f"unconvertible: {type(value).__name__}"
    raise _Unconvertible(msg)


#: Integers are 64-bit (the schema's bounds make target-duckdb use BIGINT).
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def _to_int(value: object) -> tuple[Any, bool]:
    number: int | None = None
    if isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        if re.fullmatch(r"[+-]?\d+(\.0*)?", text):
            number = int(text.split(".")[0])
    if number is not None and INT_MIN <= number <= INT_MAX:
        return number, False
    return _fail(value)


def _to_number(value: object) -> tuple[Any, bool]:
    if isinstance(value, str):
        try:
            return float(value.strip()), False
        except ValueError:
            pass
    return _fail(value)


_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _to_bool(value: object) -> tuple[Any, bool]:
    if isinstance(value, int | str):
        found = _BOOLEANS.get(str(value).strip().lower())
        if found is not None:
            return found, False
    return _fail(value)


def _to_string(value: object) -> tuple[Any, bool]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value), False
    return _fail(value)


def _to_datetime(value: object) -> tuple[Any, bool]:
    if isinstance(value, bool | dict | list):
        return _fail(value)
    return normalize_timestamp(value), False


def _to_date(value: object) -> tuple[Any, bool]:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return value.strip(), False
    moment = _to_datetime(value)[0]
    return (None if moment is None else moment[:10]), False


_LIST_SEPARATORS = re.compile(r"[\s,;]+")
_decode_json = msgspec.json.Decoder().decode


def _to_string_list(value: object) -> tuple[Any, bool]:
    if isinstance(value, list):
        if any(isinstance(item, dict | list) for item in value):
            return _fail(value)
        items = [item if isinstance(item, str) else str(item) for item in value if item is not None]
        return items, False
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):  # a JSON list sent as text
            try:
                decoded = _decode_json(text)
            except msgspec.DecodeError:
                return _fail(value)
            return _to_string_list(decoded)[0], True
        # "a, b", "#a #b": a guess, so the value as sent is kept as well.
        return [word.lstrip("#") for word in _LIST_SEPARATORS.split(text) if word.lstrip("#")], True
    return _fail(value)


# How a value of an accepted type is checked further (most need no more than its type).
_PLAIN, _STRINGS, _TIMESTAMP, _DATE, _INT = range(5)

#: (JSON type, format) → (types that may be taken as they are, further check, converter).
_KINDS: dict[tuple[str, str | None], tuple[tuple[type, ...], int, Converter]] = {
    ("integer", None): ((int,), _INT, _to_int),
    ("number", None): ((int, float), _PLAIN, _to_number),
    ("boolean", None): ((bool,), _PLAIN, _to_bool),
    ("string", None): ((str,), _PLAIN, _to_string),
    ("string", "date-time"): ((str,), _TIMESTAMP, _to_datetime),
    ("string", "date"): ((str,), _DATE, _to_date),
    ("object", None): ((dict,), _PLAIN, _fail),
    ("array", None): ((list,), _STRINGS, _to_string_list),
}


def _field_plan(prop: Mapping[str, Any]) -> tuple[tuple[type, ...], int, Converter] | None:
    types = prop.get("type", [])
    kinds = [t for t in ([types] if isinstance(types, str) else types) if t != "null"]
    if len(kinds) != 1:
        return None  # untyped or a union: taken as sent
    if kinds[0] == "array" and prop.get("items", {}).get("type") != "string":
        return None
    # bool is an int subclass, but type() lookups never confuse them.
    return _KINDS.get((kinds[0], prop.get("format")))


_ABSENT = object()


class _Level:
    """One object level: its declared names and its typed fields."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        properties: Mapping[str, Any] = schema.get("properties", {})
        self.declared = frozenset(properties)
        self.fields = {
            name: plan
            for name, prop in properties.items()
            if name != EXTRA and "properties" not in prop and (plan := _field_plan(prop))
        }
        #: Fields whose value needs nothing but its one accepted type: one lookup and one
        #: identity test for most values of most posts.
        self.exact: dict[str, type] = {
            name: ok_types[0]
            for name, (ok_types, check, _) in self.fields.items()
            if check == _PLAIN and len(ok_types) == 1
        }

    def conform(self, node: dict[str, Any]) -> None:
        # One pass over the values the API sent (fewer than the declared fields), checking
        # types inline: this runs for every block of every post.
        fields, declared, exact = self.fields, self.declared, self.exact
        unknown: list[str] | None = None
        wrong: list[str] | None = None
        for key, value in node.items():
            if type(value) is exact.get(key):
                continue
            plan = fields.get(key)
            if plan is None:
                if key not in declared:
                    unknown = unknown or []
                    unknown.append(key)
                continue
            if value is None:
                continue
            ok_types, check, _ = plan
            if type(value) in ok_types and (
                check == _PLAIN
                or (check == _INT and INT_MIN <= value <= INT_MAX)
                or (
                    check == _TIMESTAMP
                    and len(value) == FIXED_WIDTH
                    and value[-1] == "Z"
                    and value[-8] == "."
                )
                or (check == _STRINGS and all(type(item) is str for item in value))
                or (check == _DATE and len(value) == 10)
            ):
                continue
            wrong = wrong or []
            wrong.append(key)
        if unknown is None and wrong is None:
            return
        moved = {key: node.pop(key) for key in unknown or ()}
        for key in wrong or ():
            value = node[key]
            try:
                node[key], keep_raw = fields[key][2](value)
            except ValueError:
                node[key], keep_raw = None, True
            if keep_raw:
                moved[key] = value
        if moved:
            existing = node.get(EXTRA)
            node[EXTRA] = {**existing, **moved} if isinstance(existing, dict) else moved


#: The msgspec type of a value each plan takes as it is (the checks of _Level.conform).
_STRICT_TYPES: dict[tuple[str, str | None], Any] = {
    ("integer", None): Annotated[int, msgspec.Meta(ge=INT_MIN, le=INT_MAX)],
    ("number", None): int | float,
    ("boolean", None): bool,
    ("string", None): str,
    # Checked for the fixed width after msgspec (a pattern there costs ~1 us a post).
    ("string", "date-time"): str,
    ("string", "date"): Annotated[str, msgspec.Meta(min_length=10, max_length=10)],
    ("object", None): dict[str, Any],
    ("array", None): list[str],
}


def _strict_struct(name: str, schema: Mapping[str, Any], blocks: Mapping[str, Any]) -> Any:
    """A msgspec Struct that accepts exactly the objects _Level.conform leaves unchanged:
    no undeclared field, every typed value of its accepted type (or null); ``blocks``: the
    fields that are themselves such Structs (absent, or an object; never null)."""
    fields: list[tuple[str, Any, Any]] = []
    for key, prop in schema.get("properties", {}).items():
        if key in blocks:
            kind: Any = blocks[key] | msgspec.UnsetType
        else:
            plan = None if key == EXTRA or "properties" in prop else _field_plan(prop)
            kind = Any if plan is None else _strict_type(prop) | None | msgspec.UnsetType
        fields.append((f"f{len(fields)}", kind, msgspec.UNSET))
    rename = {f"f{i}": key for i, key in enumerate(schema.get("properties", {}))}
    # gc=False: the Structs are dropped at once and hold no cycles; not tracking them is cheaper.
    return msgspec.defstruct(name, fields, rename=rename, forbid_unknown_fields=True, gc=False)


def _strict_type(prop: Mapping[str, Any]) -> Any:
    types = prop.get("type", [])
    kind = next(t for t in ([types] if isinstance(types, str) else types) if t != "null")
    return _STRICT_TYPES[(kind, prop.get("format"))]


class RecordConformer:
    """Applies a stream schema's types to its records (see the module docstring).

    Most records need no change: msgspec checks that in one C call against Structs built
    from the schema (``_strict_struct``), ~5x faster than the per-field loop, which then
    runs only for the records it refuses.
    """

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._top = _Level(schema)
        properties: Mapping[str, Any] = schema.get("properties", {})
        self._blocks = {
            name: _Level(prop)
            for name, prop in properties.items()
            if name != EXTRA and "properties" in prop
        }
        structs = {name: _strict_struct(name, properties[name], {}) for name in self._blocks}
        self._strict = _strict_struct("Record", schema, structs)
        levels = [(None, self._top), *self._blocks.items()]
        #: (block or None for the record itself, field) of every date-time field.
        self._timestamps = [
            (block, name)
            for block, level in levels
            for name, (_, check, _) in level.fields.items()
            if check == _TIMESTAMP
        ]

    def __call__(self, record: dict[str, Any]) -> dict[str, Any]:
        try:
            msgspec.convert(record, self._strict)
        except msgspec.ValidationError:
            return self._conform(record)
        for block, name in self._timestamps:
            node = record if block is None else record.get(block)
            value = None if node is None else node.get(name)
            if value is not None and not (
                len(value) == FIXED_WIDTH and value[-1] == "Z" and value[-8] == "."
            ):
                return self._conform(record)
        return record  # what _conform would leave unchanged (see _strict_struct)

    def _conform(self, record: dict[str, Any]) -> dict[str, Any]:
        misplaced: dict[str, Any] | None = None
        for name, level in self._blocks.items():
            block = record.get(name, _ABSENT)
            if block is _ABSENT:
                continue
            if type(block) is dict:
                level.conform(block)
            elif block is None:
                # Same columns as an absent block (all null), and no stray `content` key
                # beside `content__body` & co. when the SDK flattens the record.
                del record[name]
            else:  # a block that is not an object: absent, and kept as sent
                misplaced = misplaced or {}
                misplaced[name] = record.pop(name)
        self._top.conform(record)
        if misplaced:
            existing = record.get(EXTRA)
            record[EXTRA] = {**existing, **misplaced} if isinstance(existing, dict) else misplaced
        return record
