"""conform.py: each odd value the API may send either fits its declared type or is kept as sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tap_data365.normalize import task_record
from tap_data365.streams.conform import RecordConformer
from tests.helpers.tap import REPO

SCHEMAS = REPO / "schemas"


def conformer(stream: str) -> RecordConformer:
    return RecordConformer(json.loads((SCHEMAS / f"{stream}.json").read_text()))


POSTS = conformer("search_results")


def post(**blocks: Any) -> dict[str, Any]:
    return POSTS({"data_source": "data365_x", "id": "1", **blocks})


@pytest.mark.parametrize(
    ("sent", "typed"),
    [(7, 7), ("7", 7), (" 1,234 ", 1234), ("12.0", 12), (12.0, 12), ("-3", -3), (None, None)],
)
def test_counts_sent_as_text_or_floats_become_integers(sent: object, typed: object) -> None:
    record = post(twitter={"retweet_count": sent})
    assert record["twitter"] == {"retweet_count": typed}


@pytest.mark.parametrize("sent", ["1.2K", "n/a", 12.5, True, [3], {"value": 3}, 2**63, "9" * 20])
def test_counts_no_integer_holds_stay_null_and_are_kept_as_sent(sent: object) -> None:
    record = post(twitter={"retweet_count": sent})
    assert record["twitter"]["retweet_count"] is None
    assert record["twitter"]["extra_fields"] == {"retweet_count": sent}


@pytest.mark.parametrize(
    "sent",
    ["2023-09-20T13:48:05.000", "2023-09-20T13:48:05Z", "2023-09-20 13:48:05+00:00",
     "2023-09-20T15:48:05+02:00", 1695217685, "1695217685000", "2023-09-20T13:48:05.000000Z"],
)  # fmt: skip
def test_timestamps_in_any_spelling_become_the_one_utc_format(sent: object) -> None:
    assert post(content={"published": sent})["content"] == {
        "published": "2023-09-20T13:48:05.000000Z"
    }


def test_unreadable_timestamp_is_kept_as_sent() -> None:
    content = post(content={"found": "last tuesday"})["content"]
    assert content == {"found": None, "extra_fields": {"found": "last tuesday"}}


@pytest.mark.parametrize(
    ("sent", "typed", "guessed"),
    [
        (["a", "b"], ["a", "b"], False),
        (["a", 1, None], ["a", "1"], False),
        ('["a", "b"]', ["a", "b"], True),
        ("#a #b", ["a", "b"], True),
        ("a, b;c", ["a", "b", "c"], True),
    ],
)
def test_lists_sent_otherwise_become_string_arrays(
    sent: object, typed: list[Any], guessed: bool
) -> None:
    content = post(content={"hashtags": sent})["content"]
    assert content["hashtags"] == typed
    # A guess (splitting text) keeps the value as sent too.
    assert content.get("extra_fields", {}).get("hashtags") == (sent if guessed else None)


def test_list_of_objects_is_kept_as_sent() -> None:
    sent = [{"url": "u"}]
    content = post(content={"image_urls": sent})["content"]
    assert content == {"image_urls": None, "extra_fields": {"image_urls": sent}}


def test_strings_booleans_and_undeclared_fields() -> None:
    record = post(
        twitter={"user_id": 134198871, "tweet_type": ["POST"], "bookmark_count": 2},
        instagram={"is_video": "true"},
        author={"handle": "x", "extra_fields": {"earlier": 1}, "verified": False},
        new_block={"a": 1},
    )
    assert record["twitter"] == {
        "user_id": "134198871",
        "tweet_type": None,
        "extra_fields": {"tweet_type": ["POST"], "bookmark_count": 2},
    }
    assert record["instagram"] == {"is_video": True}
    assert record["author"] == {"handle": "x", "extra_fields": {"earlier": 1, "verified": False}}
    assert record["extra_fields"] == {"new_block": {"a": 1}}
    assert "new_block" not in record


def test_block_that_is_not_an_object_is_kept_as_sent() -> None:
    record = post(author="@someone", content=None)
    assert "author" not in record
    assert record["extra_fields"] == {"author": "@someone"}
    assert "content" not in record  # a null block is an absent block


def test_well_formed_post_is_left_as_it_is() -> None:
    sent = {
        "data_source": "data365_twitter_keywords",
        "id": "1704492629574991926",
        "doc_date": "2023-09-20T13:48:05.000000Z",
        "twitter": {"user_id": "134198871", "quote_count": 0, "tweet_type": "POST"},
        "content": {
            "body": "b",
            "links": ["https://youtu.be/x"],
            "likes_count": 0,
            "found": "2023-09-22T04:51:17.000000Z",
        },
        "enrichment": {"language": "en"},
    }
    assert POSTS(json.loads(json.dumps(sent))) == sent


def test_task_values_the_types_cannot_hold_are_kept_as_sent() -> None:
    raw = {
        "id": 7,
        "value": "cats",
        "from_date": "2024-03-01T00:00:00Z",
        "to_date": "the end of march",
        "update_interval": "every hour",
        "created": 1714598616,
        "updated": "soon",
        "status": "DONE",
        "parameters": "lang=en",
    }
    record = conformer("tasks")(task_record(raw, "tiktok_hashtag"))
    assert record["parameters"] == {}
    assert record["from_date"] == "2024-03-01"
    assert record["created_at"] == "2024-05-01T21:23:36.000000Z"
    assert record["to_date"] is None
    assert record["update_interval"] is None
    assert record["updated_at"] is None
    assert record["extra_fields"] == {
        "to_date": "the end of march",
        "update_interval": "every hour",
        "updated_at": "soon",
        "parameters": "lang=en",
    }
    assert (
        conformer("tasks")(task_record({"id": 1, "update_interval": "300"}, "s"))["update_interval"]
        == 300
    )
