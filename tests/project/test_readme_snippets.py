"""The shell snippets of the README and its guides, run as written: a real account's steps in a
fresh clone, the tap piped into a target without Meltano (twice, resuming from the kept state),
and the DuckDB line of docs/querying.md.

The emulator stands in for the API. The one thing a test adds is where the API is: the
environment variable ``TAP_DATA365_API_URL`` for Meltano, the ``api_url`` key in the settings
file for the bare tap. The key is the README's own placeholder: the emulator accepts it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.helpers.emulator import start_emulator
from tests.helpers.pipeline import MeltanoProject, copy_project, meltano_run, pipeline_emulator
from tests.helpers.tap import REPO, clean_env, run

pytestmark = pytest.mark.pipeline

README = (REPO / "README.md").read_text(encoding="utf-8")
QUERYING = (REPO / "docs" / "querying.md").read_text(encoding="utf-8")


def section(heading: str, text: str = README) -> str:
    """The text under ``heading`` (a line as written, with its #s), to the next heading of the
    same or a higher level."""
    level = heading.split(" ", 1)[0]
    body = ("\n" + text).split("\n" + heading + "\n", 1)[1]
    pattern = "^#{1,LEVEL} ".replace("LEVEL", str(len(level)))
    ends = [m.start() for m in re.finditer(pattern, body, re.M)]
    return body[: ends[0]] if ends else body


def bash_blocks(heading: str, text: str = README) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", section(heading, text), flags=re.DOTALL)


def bash(
    script: str, cwd: Path, env: Mapping[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """A README block run by bash as a user's terminal would, stopping at the first failure."""
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def with_path(*folders: Path, **more: str) -> dict[str, str]:
    path = os.pathsep.join([*(str(f) for f in folders), os.environ.get("PATH", "")])
    return clean_env({"PATH": path, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", **more})


# ------------------------------------------------------------------ a real account, from a clone


def test_the_real_account_steps_run_as_written_in_a_fresh_clone(
    meltano_bin: Path, tmp_path: Path
) -> None:
    """Clone (a copy of the files a clone has), install, configure, setup, run: no rewriting."""
    clone_steps, steps = bash_blocks("## With a real Datastreamer account")
    assert clone_steps.startswith("git clone ")  # what the test does itself: copy, Meltano
    key = re.search(r"export TAP_DATA365_API_KEY=(\S+)", steps)
    assert key is not None
    clone = tmp_path / "tap-data365"
    clone.mkdir()
    copy_project(clone)
    with start_emulator(api_key=key.group(1), empty=True, posts_per_task=40, retry_after=0) as emu:
        env = with_path(
            meltano_bin.parent,
            TAP_DATA365_API_URL=emu.url,
            TAP_DATA365_SETUP_POLL_INTERVAL="0.1",
        )
        done = bash(steps, clone, env, timeout=1800)
        assert done.returncode == 0, done.stdout + done.stderr
        statuses = {request.status for request in emu.requests}
        created = [
            r for r in emu.requests if r.method == "POST" and r.path.endswith("/twitter_keywords")
        ]
    assert not statuses & {401, 403}, statuses  # the key was accepted throughout
    assert created, "setup created no task"
    assert "Executable 'tap-data365' could not be found" not in done.stderr
    assert (clone / "warehouse.duckdb").is_file()
    assert "pip_url: -e ." in (clone / "meltano.yml").read_text()


# ------------------------------------------------------------------ Singer without Meltano


def singer_blocks() -> tuple[str, str]:
    install, once, every_run = bash_blocks("## Singer without Meltano")
    assert "pipx install" in install
    return once, every_run


def test_the_singer_steps_pipe_the_tap_into_a_target_and_resume_from_the_kept_state(
    meltano_project: MeltanoProject, tmp_path: Path
) -> None:
    once, every_run = singer_blocks()
    placeholder = json.loads(re.search(r"(\{.*\})\nEOF", once).group(1))["api_key"]  # type: ignore[union-attr]
    target_bin = meltano_project.plugin_python("loaders", "target-jsonl").parent
    env = with_path(Path(sys.executable).parent, target_bin)
    with pipeline_emulator(api_key=placeholder) as emu:
        # The settings file as written, plus where the API is.
        once = once.replace('{"api_key"', f'{{"api_url": "{emu.url}", "api_key"', 1)
        first_block = bash(once, tmp_path, env)
        assert first_block.returncode == 0, first_block.stderr
        assert first_block.stdout.strip() == "connection OK"
        first = bash(every_run, tmp_path, env)
        assert first.returncode == 0, first.stderr
        posts = tmp_path / "output" / "search_results.jsonl"
        first_count = len(posts.read_text().splitlines())
        assert first_count == emu.post_count("twitter_keywords")
        state = json.loads((tmp_path / "state.json").read_text())
        assert state["bookmarks"]["search_results"]["partitions"]
        emu.add_task("twitter_keywords", "late", "2024-02-01", "2024-02-28", status="running")
        emu.finish_running_tasks()
        second = bash(every_run, tmp_path, env)
        assert second.returncode == 0, second.stderr
        lines = posts.read_text().splitlines()
        assert len(lines) == emu.post_count("twitter_keywords")  # the new posts, only them
    assert len({(p["data_source"], p["id"]) for p in map(json.loads, lines)}) == len(lines)


def test_the_connection_check_fails_in_one_line_on_a_wrong_key(tmp_path: Path) -> None:
    once, _ = singer_blocks()
    with start_emulator(api_key="not-the-readme-placeholder", empty=True) as emu:
        once = once.replace('{"api_key"', f'{{"api_url": "{emu.url}", "api_key"', 1)
        done = bash(once, tmp_path, with_path(Path(sys.executable).parent))
    assert done.returncode == 1
    assert "connection OK" not in done.stdout
    (error,) = [line for line in done.stderr.splitlines() if "error:" in line]
    assert "rejected the api_key" in error


# ------------------------------------------------------------------ DuckDB, and the demo's report


@pytest.fixture(scope="module")
def demo_layout(meltano_project: MeltanoProject, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out as after `bash scripts/demo.sh`: output/demo.duckdb loaded by the
    demo's pipeline, the target's virtualenv where the demo's Meltano folder keeps it."""
    root = tmp_path_factory.mktemp("demo")
    (root / "output").mkdir()
    database = root / "output" / "demo.duckdb"
    with pipeline_emulator() as emu:
        meltano_run(
            meltano_project,
            emu,
            "target-duckdb",
            suffix="readme-snippets",
            capture=root / "capture.jsonl",
            env={"TARGET_DUCKDB_FILEPATH": str(database)},
        )
    venv = meltano_project.plugin_python("loaders", "target-duckdb").parent.parent
    demo_venv = root / ".demo" / "meltano" / "loaders" / "target-duckdb" / "venv"
    demo_venv.parent.mkdir(parents=True)
    demo_venv.symlink_to(venv, target_is_directory=True)
    return root


def test_the_duckdb_line_runs_as_written(demo_layout: Path) -> None:
    (line,) = [b for b in bash_blocks("# Querying the posts", QUERYING) if "import duckdb" in b]
    query = re.search(r"```sql\n(-- DuckDB: posts per day per source\n.*?)```", QUERYING, re.DOTALL)
    assert query is not None
    (demo_layout / "q.sql").write_text(query.group(1))
    done = bash(line, demo_layout, clean_env())
    assert done.returncode == 0, done.stderr
    assert "data365_twitter_keywords" in done.stdout


def test_the_demo_report_writes_one_timestamp_format(demo_layout: Path) -> None:
    python = demo_layout / ".demo" / "meltano" / "loaders" / "target-duckdb" / "venv" / "bin"
    report: list[str | Path] = [python / "python", REPO / "scripts" / "demo_report.py", "report"]
    before = demo_layout / "before.json"
    before.write_text("{}")
    out = run([*report, demo_layout / "output" / "demo.duckdb", before]).stdout
    samples = out.split("sample rows (newest first):", 1)[1].split("\n\n", 1)[0]
    stamps = re.findall(r"^  (\S+)  data365_", samples, re.M)
    assert len(stamps) == 3, out
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", s) for s in stamps), stamps
