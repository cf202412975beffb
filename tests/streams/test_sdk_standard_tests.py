"""The Singer SDK's standard tap tests, run for real against the emulator."""

from __future__ import annotations

import atexit
from contextlib import ExitStack

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_data365.tap import TapData365
from tests.helpers.emulator import start_emulator
from tests.helpers.tap import API_KEY

# The SDK builds the test class (and syncs) at collection time, so the emulator must be up
# before pytest collects this module.
_RUNNING = ExitStack()
atexit.register(_RUNNING.close)
_EMULATOR = _RUNNING.enter_context(
    start_emulator(
        seed_posts={"tiktok_hashtag": 400, "instagram_profile": 150},
        connected_sources=("tiktok_hashtag", "instagram_profile"),
    )
)
_EMULATOR.add_task(
    "tiktok_hashtag",
    "hellokitty",
    "2024-02-01",
    "2024-02-03",
    status="complete",
    update_interval=300,
)
_EMULATOR.add_task("instagram_profile", "spacex", "2024-02-01", "2024-02-03", status="created")

TestTapData365 = get_tap_test_class(
    TapData365,
    config={"api_key": API_KEY, "api_url": _EMULATOR.url, "start_date": "2024-01-01T00:00:00Z"},
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=150),
)
