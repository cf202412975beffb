"""The command line's ``--posts N``: N posts in twitter_keywords, whatever ``--scale`` says.

The benchmark (bench/run.py) seeds one sub-source of 25,000 to 1,000,000 posts with it; the
other sources keep their counts, scaled.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def test_posts_sets_the_twitter_keywords_count_and_scale_the_others() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "data365_emulator", "--port", "0", "--posts", "1234",
         "--scale", "0.5"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split(" on ", 1)[1].strip()
        control = url + "/_emulator/post-count/"
        counts = {
            source: requests.get(control + source, timeout=10).json()["count"]
            for source in ("twitter_keywords", "tiktok_hashtag")
        }
        assert counts == {"twitter_keywords": 1234, "tiktok_hashtag": 1500}
    finally:
        process.terminate()
        process.wait(timeout=30)
