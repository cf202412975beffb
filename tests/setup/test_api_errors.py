"""API failures: retried when worth it, else one clear line, exit 1, and what was created."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from data365_emulator import Emulator
from tap_data365.settings import ApiSettings
from tap_data365.setup.control_api import Data365Api
from tap_data365.setup.plan import ApplyError, apply_setup_plan, make_setup_plan
from tap_data365.setup.specs import validate_tasks
from tests.helpers.setup import (
    TASKS,
    config_file,
    creates,
    run_setup,
    server_tasks,
)
from tests.helpers.tap import API_KEY

# In-process runs: TAP_DATA365_* variables of the developer's shell must not leak in.
pytestmark = pytest.mark.usefixtures("no_developer_env")


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_rejected_key_is_one_line(emu: Emulator, tmp_path: Path) -> None:
    emu.configure(reject_key=True)
    run = run_setup("--config", config_file(tmp_path, emu))

    assert run.exit_code == 1
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert "rejected the api_key (HTTP 401) while registering the Data365 token" in run.stderr
    assert "created before the failure: none" in run.stderr
    assert len(emu.requests) == 1  # a 401 is not retried


@pytest.mark.parametrize("faults", [["503", "503"], ["429"], ["drop"], ["500", "503", "drop"]])
def test_transient_faults_are_retried(emu: Emulator, tmp_path: Path, faults: list[str]) -> None:
    emu.configure(fail_next=faults)
    run = run_setup("--config", config_file(tmp_path, emu), "--json")

    assert run.exit_code == 0, run.stderr
    failed = [r.status for r in emu.requests if r.status in {0, 429, 500, 503}]
    assert len(failed) == len(faults)
    assert len(creates(emu)) == 2


def test_server_errors_after_retries_end_in_one_line(emu: Emulator, tmp_path: Path) -> None:
    emu.configure(fail_next=["500", "500", "500"])
    run = run_setup("--config", config_file(tmp_path, emu, max_retries=2, data365_token=None))

    assert run.exit_code == 1
    assert _last_line(run.stderr) == (
        "tap-data365 setup: error: HTTP 500 from the Datastreamer API while listing the "
        "connected Data365 sources (after 3 attempt(s)): simulated 500 fault; created before "
        "the failure: none"
    )
    assert len(emu.requests) == 3


def test_unconnected_source_is_a_clear_error(emu: Emulator, tmp_path: Path) -> None:
    emu.configure(connected_sources=("twitter_keywords",))
    run = run_setup("--config", config_file(tmp_path, emu))

    assert run.exit_code == 1
    assert "source(s) not connected to this Datastreamer account: tiktok_hashtag" in run.stderr
    assert creates(emu) == []


class _Garbage(BaseHTTPRequestHandler):
    """A server that answers 200 with a body that is not JSON (a proxy's error page)."""

    def do_GET(self) -> None:
        body = b"<html>gateway hiccup</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self) -> None:
        self.do_GET()

    def log_message(self, *args: object) -> None:
        pass


def test_malformed_body_is_one_line(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Garbage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        config = tmp_path / "c.json"
        config.write_text(
            f'{{"api_key": "{API_KEY}", "api_url": "{url}", "tasks": [{{"source": '
            '"tiktok_music", "value": "x", "from_date": "2024-01-01", "to_date": "2024-01-01"}]}',
            encoding="utf-8",
        )
        run = run_setup("--config", str(config))
    finally:
        server.shutdown()
        server.server_close()
    assert run.exit_code == 1
    assert "malformed response while listing the connected Data365 sources" in run.stderr
    assert "Traceback" not in run.stderr


# ------------------------------------------------------ the create request, driven directly
# The fault queue hits the next request, so to fault the create itself the plan is made
# first and the fault armed just before applying it (same code path as the command).


def _planned(emu: Emulator, api: Data365Api):
    specs = validate_tasks(TASKS)
    sources = sorted({s.source for s in specs})
    return make_setup_plan(specs, {s: api.list_tasks(s) for s in sources})


@pytest.mark.parametrize("fault", ["500", "drop", "503"])
def test_an_ambiguous_create_failure_is_checked_before_resending(emu: Emulator, fault: str) -> None:
    with Data365Api(ApiSettings(emu.url, API_KEY, max_retries=3), sleep=lambda _: None) as api:
        plan = _planned(emu, api)
        emu.configure(fail_next=[fault])
        apply_setup_plan(api, plan, start=True)

    assert all(t.created and t.started for t in plan.tasks)
    assert len(server_tasks(emu, "twitter_keywords")) == 2  # once each, never twice
    assert len(server_tasks(emu, "tiktok_hashtag")) == 1


def test_a_failure_part_way_says_what_was_created(emu: Emulator) -> None:
    with Data365Api(ApiSettings(emu.url, API_KEY, max_retries=0)) as api:
        plan = _planned(emu, api)
        emu.configure(connected_sources=("twitter_keywords",))  # tiktok vanishes mid-run
        with pytest.raises(ApplyError, match=r"sub-source 'tiktok_hashtag' is not connected"):
            apply_setup_plan(api, plan, start=True)

    created = {t.spec.source: t.created for t in plan.tasks}
    assert created == {"twitter_keywords": True, "tiktok_hashtag": False}
    assert plan.tasks[2].action() == "NOT create + start"
    assert not any(t.started for t in plan.tasks)  # starts come after every create
