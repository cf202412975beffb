"""BATCH mode: a STATE never runs ahead of the BATCH messages holding what it covers.

A sync stopped right after any STATE and resumed from it must still deliver every post:
the records of the BATCH files announced before that STATE plus the resumed sync's records
are the whole index.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.helpers.emulator import start_emulator
from tests.helpers.tap import API_KEY, run_tap

SOURCE = "tiktok_hashtag"
POSTS = 450


def _batch_ids(manifest: list[str]) -> set[str]:
    ids: set[str] = set()
    for uri in manifest:
        path = Path(urlsplit(uri).path)
        raw = path.read_bytes()
        text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
        ids.update(json.loads(line)["id"] for line in text.splitlines() if line.strip())
    return ids


def test_every_state_in_batch_mode_is_covered_by_the_batches_before_it(tmp_path: Path) -> None:
    config: dict[str, Any] = {"api_key": API_KEY, "sources": [SOURCE], "max_concurrency": 1}
    with start_emulator(seed_posts={SOURCE: POSTS}) as emulator:
        config["api_url"] = emulator.url
        batch = {
            "encoding": {"format": "jsonl", "compression": "none"},
            "storage": {"root": (tmp_path / "batches").as_uri()},
            "batch_size": 100,
        }
        (tmp_path / "batches").mkdir()
        full = run_tap(tmp_path, {**config, "batch_config": batch}, name="batch")
        assert full.returncode == 0, full.stderr
        announced: set[str] = set()
        checked = 0
        for number, line in enumerate(full.stdout.splitlines()):
            message = json.loads(line)
            if message["type"] == "BATCH" and message["stream"] == "search_results":
                announced |= _batch_ids(message["manifest"])
            if message["type"] != "STATE":
                continue
            partitions = message["value"]["bookmarks"].get("search_results", {})
            if not any("replication_key_value" in p for p in partitions.get("partitions", [])):
                continue
            # Stop here, resume from this STATE: nothing may be missing.
            resumed = run_tap(tmp_path, config, state=message["value"], name=f"resume-{number}")
            assert resumed.returncode == 0, resumed.stderr
            delivered = announced | set(resumed.ids())
            assert len(delivered) == POSTS, f"STATE #{number} lost {POSTS - len(delivered)}"
            checked += 1
        assert len(announced) == POSTS
        assert checked >= 1
