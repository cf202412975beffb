"""The one settings object, tested alone: declared defaults, conversions, frozen."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from tap_data365.settings import CONFIG_SCHEMA, ApiSettings, Settings

DECLARED = CONFIG_SCHEMA["properties"]


def test_every_default_comes_from_the_declaration() -> None:
    settings = Settings.from_config({})
    assert settings.api.url == DECLARED["api_url"]["default"]
    assert settings.api.key == ""
    assert settings.api.timeout == DECLARED["request_timeout"]["default"]
    assert settings.api.max_retries == DECLARED["max_retries"]["default"]
    assert settings.api.max_retry_wait == DECLARED["max_retry_wait"]["default"]
    assert settings.api.max_concurrency == DECLARED["max_concurrency"]["default"]
    assert settings.api.max_requests_per_second is None
    assert settings.page_size == DECLARED["page_size"]["default"]
    assert settings.search_query == DECLARED["search_query"]["default"]
    assert settings.lookback == dt.timedelta(minutes=DECLARED["lookback_minutes"]["default"])
    assert settings.discovery_lookback == dt.timedelta(
        minutes=DECLARED["discovery_lookback_minutes"]["default"]
    )
    assert settings.boundary_zone_max_posts == DECLARED["boundary_zone_max_posts"]["default"]
    assert settings.sources is None
    assert settings.start_date is None
    assert settings.end_date is None
    assert settings.batch is False
    # The transport's view built without the tap has the same defaults.
    assert ApiSettings(settings.api.url, "") == settings.api


def test_values_are_converted_once() -> None:
    settings = Settings.from_config(
        {
            "api_key": "k",
            "api_url": "http://127.0.0.1:8765/",
            "sources": ["data365_tiktok_hashtag", "tiktok_hashtag", "twitter_keywords"],
            "start_date": "2024-01-01",
            "end_date": "2024-02-01T00:00:00.000",
            "lookback_minutes": 5,
            "max_requests_per_second": 3,
            "batch_config": {"encoding": {"format": "jsonl"}},
        }
    )
    assert settings.api.url == "http://127.0.0.1:8765"
    assert settings.sources == ("tiktok_hashtag", "twitter_keywords")
    assert settings.start_date == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert settings.end_date == dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    assert settings.lookback == dt.timedelta(minutes=5)
    assert settings.api.max_requests_per_second == 3.0
    assert settings.batch is True


def test_the_settings_are_frozen() -> None:
    settings = Settings.from_config({"api_key": "k"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.page_size = 5  # type: ignore[misc]
