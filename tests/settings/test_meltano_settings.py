"""Every setting of the tap can be given the way Meltano users give them: as text.

Meltano 4.4 turns a `decimal` setting given as text (an environment variable, `meltano config
set`) into a Decimal that it then cannot write into the tap's JSON config: `meltano run`
stopped with "Object of type Decimal is not JSON serializable". The numeric settings are whole
numbers (`kind: integer`), and this test gives each of them through the environment.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tests.helpers.tap import API_KEY, REPO, clean_env

NUMBERS = {
    "TAP_DATA365_REQUEST_TIMEOUT": 900,
    "TAP_DATA365_MAX_RETRY_WAIT": 30,
    "TAP_DATA365_MAX_REQUESTS_PER_SECOND": 5,
    "TAP_DATA365_MAX_RETRIES": 3,
    "TAP_DATA365_PAGE_SIZE": 50,
    "TAP_DATA365_LOOKBACK_MINUTES": 30,
    "TAP_DATA365_DISCOVERY_LOOKBACK_MINUTES": 5,
    "TAP_DATA365_BOUNDARY_ZONE_MAX_POSTS": 1000,
    "TAP_DATA365_MAX_CONCURRENCY": 4,
}


def test_numeric_settings_from_the_environment_reach_the_tap_as_numbers(
    meltano_bin: Path, tmp_path: Path
) -> None:
    shutil.copy2(REPO / "meltano.yml", tmp_path / "meltano.yml")
    env = clean_env(
        {name: str(value) for name, value in NUMBERS.items()}, TAP_DATA365_API_KEY=API_KEY
    )
    done = subprocess.run(
        [meltano_bin, "config", "print", "tap-data365", "--format=json"],
        check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    config = json.loads(done.stdout)
    for name, value in NUMBERS.items():
        setting = name.removeprefix("TAP_DATA365_").lower()
        assert config[setting] == value, setting
        assert isinstance(config[setting], int), setting
