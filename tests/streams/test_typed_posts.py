"""Typed posts: values in odd shapes fit the schema, nothing is lost, flattening gives columns.

The emulator's ``odd_values`` switch sends every 7th post in an odd shape
(data365_emulator/variants.py): counts as text, other date spellings, lists as one string,
unreadable values, a block that is not an object, undeclared fields. Every record must validate
against the schema the tap announces (SDK targets validate), and every value the API sent must be
in the record: in its typed field (exactly, or converted exactly) or, as sent, in ``extra_fields``
of its level.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from data365_emulator import Emulator
from data365_emulator.variants import VARIANTS
from tap_data365.normalize import parse_timestamp
from tests.helpers.emulator import start_emulator
from tests.helpers.tap import sync

SOURCES = {"twitter_keywords": 240, "tiktok_hashtag": 90, "instagram_profile": 60,
           "facebook_profile": 60, "linkedin_company": 60}  # fmt: skip
FLAT: dict[str, Any] = {"flattening_enabled": True, "flattening_max_depth": 1}


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator(
        seed_posts=SOURCES, connected_sources=tuple(SOURCES), odd_values=True
    ) as emu:
        yield emu


def raw_posts(emu: Emulator) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (post.doc["data_source"], post.doc_id): post.doc
        for source in SOURCES
        for post in emu.indexes.get(source)
    }


#: Every date-time the tap emits is in its one fixed-width UTC format (stricter than RFC 3339,
#: which jsonschema would not check without an extra package).
TAP_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


def _validator(schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    formats = jsonschema.FormatChecker(["date"])
    formats.checks("date-time")(
        lambda value: not isinstance(value, str) or bool(TAP_TIMESTAMP.fullmatch(value))
    )
    return jsonschema.Draft7Validator(schema, format_checker=formats)


def _kept(raw: object, typed: object, extra: dict[str, Any], key: str) -> bool:
    """The raw value is in the record: as sent, converted exactly, or in extra_fields."""
    if typed == raw or extra.get(key) == raw:
        return True
    if isinstance(typed, int) and not isinstance(typed, bool):
        return str(typed) == str(raw).replace(",", "")
    if isinstance(typed, str) and typed.endswith("Z"):
        return parse_timestamp(typed) == parse_timestamp(raw)
    return False


def test_odd_values_validate_and_nothing_is_lost(emulator: Emulator, tmp_path: Path) -> None:
    result = sync(emulator, tmp_path)
    schemas, records = result.schemas, result.records
    posts = records["search_results"]
    raw = raw_posts(emulator)
    assert len(posts) == len(raw) == sum(SOURCES.values())
    validator = _validator(schemas["search_results"])
    errors = [(r["id"], e.message) for r in posts for e in validator.iter_errors(r)]
    assert not errors, errors[:5]
    # tasks: from_date/to_date are dates, timestamps date-times, every record valid.
    task_validator = _validator(schemas["tasks"])
    assert not [e.message for r in records.get("tasks", []) for e in task_validator.iter_errors(r)]

    lost = []
    for record in posts:
        sent = raw[(record["data_source"], record["id"])]
        top_extra = record.get("extra_fields") or {}
        for name, value in sent.items():
            if isinstance(value, dict):
                block = record.get(name)
                if not isinstance(block, dict):
                    lost += [] if top_extra.get(name) == value else [(record["id"], name)]
                    continue
                extra = block.get("extra_fields") or {}
                lost += [(record["id"], f"{name}.{key}") for key, inner in value.items()
                         if not _kept(inner, block.get(key), extra, key)]  # fmt: skip
            elif not _kept(value, record.get(name), top_extra, name):
                lost.append((record["id"], name))
    assert not lost, lost[:10]


#: How each variant of data365_emulator/variants.py shows in the document the emulator sent.
SHAPES = {
    "counts_as_text": lambda d: (
        isinstance(d["content"].get("likes_count"), str) and d["content"]["likes_count"] != "1.2K"
    ),
    "other_date_spellings": lambda d: " " in d["content"]["published"],
    "lists_as_text": lambda d: d["content"].get("mentions") == "@alice, @bob",
    "unreadable_values": lambda d: d["content"].get("likes_count") == "1.2K",
    "block_not_an_object": lambda d: isinstance(d["author"], str),
    "undeclared_fields": lambda d: "view_count_v2" in d["content"],
}


def _by_variant(emu: Emulator, records: list[dict[str, Any]], variant: str) -> list[dict[str, Any]]:
    """The records of posts the emulator sent in the shape of ``variant``."""
    raw = raw_posts(emu)
    found = [r for r in records if SHAPES[variant](raw[(r["data_source"], r["id"])])]
    assert len(found) >= 3, variant
    return found


def test_each_odd_shape_lands_where_its_type_says(emulator: Emulator, tmp_path: Path) -> None:
    assert set(SHAPES) == {v.__name__ for v in VARIANTS}
    records = sync(emulator, tmp_path).records
    posts = records["search_results"]
    for r in _by_variant(emulator, posts, "counts_as_text"):
        assert isinstance(r["content"]["likes_count"], int)
        block = next(
            r[p] for p in ("twitter", "tiktok", "facebook", "instagram", "linkedin") if r.get(p)
        )
        assert all(isinstance(v, int) for k, v in block.items() if k.endswith("_count")), block
    for r in _by_variant(emulator, posts, "other_date_spellings"):
        assert r["content"]["published"] == r["doc_date"]
        assert r["content"]["last_updated"] == "2024-06-01T00:00:00.000000Z"
    for r in _by_variant(emulator, posts, "lists_as_text"):
        content = r["content"]
        assert content["mentions"] == ["@alice", "@bob"]
        assert all(isinstance(t, str) and not t.startswith("#") for t in content["hashtags"])
        assert isinstance(content["links"], list)
        # A guessed split also keeps the value as sent.
        assert content["extra_fields"]["mentions"] == "@alice, @bob"
    for r in _by_variant(emulator, posts, "unreadable_values"):
        content = r["content"]
        assert content["likes_count"] is None
        assert content["extra_fields"]["likes_count"] == "1.2K"
        assert content["last_updated"] is None
        assert content["extra_fields"]["last_updated"] == "yesterday"
        assert content["image_urls"] is None
        assert r["enrichment"]["sentiment"] is None
        assert r["enrichment"]["extra_fields"]["sentiment"]["label"] == "positive"
    for r in _by_variant(emulator, posts, "block_not_an_object"):
        assert "author" not in r
        assert r["extra_fields"]["author"].startswith("@")
        assert "enrichment" not in r
    for r in _by_variant(emulator, posts, "undeclared_fields"):
        assert r["content"]["extra_fields"] == {"view_count_v2": 17}
        assert r["author"]["extra_fields"] == {"verified": True}


def test_flattening_gives_typed_columns_and_keeps_everything(
    emulator: Emulator, tmp_path: Path
) -> None:
    result = sync(emulator, tmp_path, **FLAT)
    schemas, records = result.schemas, result.records
    schema = schemas["search_results"]
    columns = schema["properties"]
    assert columns["content__body"]["type"] == ["string", "null"]
    assert columns["content__published"] == {"type": ["string", "null"], "format": "date-time",
        "description": columns["content__published"]["description"]}  # fmt: skip
    assert columns["author__handle"]["type"] == ["string", "null"]
    assert columns["twitter__retweet_count"]["type"] == ["integer", "null"]
    assert columns["instagram__is_video"]["type"] == ["boolean", "null"]
    # Lists and remainders are JSON text in flattened tables.
    assert columns["content__hashtags"]["type"] == ["string", "null"]
    assert columns["content__extra_fields"]["type"] == ["string", "null"]
    posts = records["search_results"]
    assert len(posts) == sum(SOURCES.values())
    # A target keeps only the columns the schema declares: no record key may fall outside.
    outside = {key for r in posts for key in r} - set(columns)
    assert not outside, outside
    validator = _validator(schema)
    errors = [(r["id"], e.message) for r in posts for e in validator.iter_errors(r)]
    assert not errors, errors[:5]
    tweets = [r for r in posts if r["data_source"] == "data365_twitter_keywords"]
    assert all(isinstance(r["twitter__retweet_count"], int) for r in tweets)
    assert all(r["content__body"] and r["content__published"] for r in posts)
    undeclared = [r for r in posts if r.get("content__extra_fields")]
    assert {"view_count_v2": 17} in [json.loads(r["content__extra_fields"]) for r in undeclared]
    tasks_columns = schemas["tasks"]["properties"]
    assert tasks_columns["from_date"]["format"] == "date"
    assert tasks_columns["update_interval"]["type"] == ["integer", "null"]
