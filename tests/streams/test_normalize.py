"""The pure shape and date functions, one accepted spelling at a time."""

from __future__ import annotations

import re

import pytest

from tap_data365 import normalize
from tap_data365.errors import ShapeError
from tap_data365.search_results.hits import search_post


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-09-20T13:48:05.000", "2023-09-20T13:48:05.000000Z"),
        ("2023-09-20T13:48:05", "2023-09-20T13:48:05.000000Z"),
        ("2023-09-22T04:51:17.000Z", "2023-09-22T04:51:17.000000Z"),
        ("2024-05-01T21:23:36.627326Z", "2024-05-01T21:23:36.627326Z"),
        ("2024-05-01T21:23:36.627326789Z", "2024-05-01T21:23:36.627326Z"),
        ("2024-05-01T21:23:36+00:00", "2024-05-01T21:23:36.000000Z"),
        ("2024-05-01T23:23:36+02:00", "2024-05-01T21:23:36.000000Z"),
        ("2024-05-01 21:23:36", "2024-05-01T21:23:36.000000Z"),
        ("2024-05-01", "2024-05-01T00:00:00.000000Z"),
        ("1673997527000", "2023-01-17T23:18:47.000000Z"),
        (1673997527, "2023-01-17T23:18:47.000000Z"),
    ],
)
def test_timestamps_normalise_to_one_fixed_width_utc_format(raw: object, expected: str) -> None:
    assert normalize.normalize_timestamp(raw) == expected


def test_normalised_timestamps_sort_as_strings_like_instants() -> None:
    raw = ["2024-01-01T10:00:00.5+00:00", "2024-01-01T10:00:00Z", "2024-01-01T09:59:59.999999"]
    normalised = sorted(normalize.normalize_timestamp(r) or "" for r in raw)
    assert normalised == [
        "2024-01-01T09:59:59.999999Z",
        "2024-01-01T10:00:00.000000Z",
        "2024-01-01T10:00:00.500000Z",
    ]


@pytest.mark.parametrize("raw", ["yesterday", "2024-13-01T00:00:00Z", True, [1]])
def test_bad_timestamps_raise(raw: object) -> None:
    with pytest.raises(ValueError, match="not a timestamp"):
        normalize.parse_timestamp(raw)


@pytest.mark.parametrize("wrapper", [None, "data_sources", "sources", "data", "items", "results"])
@pytest.mark.parametrize("as_objects", [False, True])
def test_source_lists(wrapper: str | None, *, as_objects: bool) -> None:
    names = ["twitter_keywords", "data365_tiktok_music"]
    items: list[object] = (
        [{"name": n, "connected": True} for n in names] if as_objects else list(names)
    )
    payload: object = items if wrapper is None else {wrapper: items}
    assert normalize.source_names(payload) == ["twitter_keywords", "tiktok_music"]


def test_source_list_of_unknown_shape_is_a_clear_error() -> None:
    with pytest.raises(ShapeError, match="expected a list"):
        normalize.source_names({"unexpected": 1})


@pytest.mark.parametrize("key", ["id", "task_id", "taskId", "TaskId"])
def test_task_id_keys(key: str) -> None:
    assert normalize.task_id({key: 42, "value": "x"}) == "42"


@pytest.mark.parametrize("wrapper", [None, "tasks", "data", "items"])
def test_task_lists(wrapper: str | None) -> None:
    tasks = [{"id": "a", "status": "COMPLETE"}, {"id": "b", "status": "Running"}]
    payload: object = tasks if wrapper is None else {wrapper: tasks}
    assert [normalize.task_status(t) for t in normalize.task_list(payload)] == [
        "complete",
        "running",
    ]


def test_task_record_keeps_unknown_fields_and_normalises_known_ones() -> None:
    record = normalize.task_record(
        {
            "TaskId": 7,
            "value": "covid-19",
            "from_date": "2023-09-01",
            "to_date": "2023-09-12",
            "update_interval": "300",
            "status": "Finished",
            "updated": "2024-05-01T21:23:36.627326Z",
            "owner": "team-a",
        },
        "twitter_keywords",
    )
    assert record["id"] == "7"
    assert record["status"] == "finished"
    assert record["update_interval"] == 300
    assert record["updated_at"] == "2024-05-01T21:23:36.627326Z"
    assert record["owner"] == "team-a"
    assert "TaskId" not in record


@pytest.mark.parametrize("status", ["complete", "finished", "COMPLETE", "Finished"])
def test_both_done_spellings(status: str) -> None:
    assert normalize.is_done(status)


def test_search_record_keeps_everything_but_normalises_doc_date() -> None:
    document = {"id": 5, "doc_date": "2023-09-20T13:48:05.000", "twitter": {"x": 1}, "new": True}
    record = search_post(document, "data365_twitter_keywords").record
    assert record == {
        "id": "5",
        "doc_date": "2023-09-20T13:48:05.000000Z",
        "twitter": {"x": 1},
        "new": True,
        "data_source": "data365_twitter_keywords",
    }


def test_search_record_falls_back_to_content_published() -> None:
    record = search_post({"id": "1", "content": {"published": "2024-01-02T03:04:05Z"}}, "i").record
    assert record["doc_date"] == "2024-01-02T03:04:05.000000Z"


@pytest.mark.parametrize(
    ("payload", "said"),
    [
        (b"", "got an empty body"),
        (None, "got null"),
        ("x", "got a string"),
        (True, "got true or false"),
        ({"unexpected": 1}, "got an object with keys unexpected"),
        ({"results": "x"}, "results is a string, expected a list of posts"),
        ({"data": {"items": 3.5}}, "data.items is a number, expected a list of posts"),
        ({"data": None}, "data is null, expected a list of posts"),
    ],
)
def test_a_list_of_the_wrong_kind_is_named_in_json_words(payload: object, said: str) -> None:
    with pytest.raises(ShapeError, match=re.escape(said)):
        normalize.unwrap_list(payload, ["results", "data", "items"], of="posts")


@pytest.mark.parametrize("payload", [{}, {"data": {}}, {"results": []}, []])
def test_an_empty_object_at_any_depth_is_no_items(payload: object) -> None:
    assert normalize.unwrap_list(payload, ["results", "data", "items"]) == []
