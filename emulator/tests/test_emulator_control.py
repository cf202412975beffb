"""The emulator's token endpoint, its control plane and its command line, over real HTTP."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import requests
from helpers import PROVIDER, ROOT, TWITTER, Client, task

from data365_emulator import Emulator, EmulatorConfig

# ---------------------------------------------------------------------------- token


def test_token_register_replace_delete_and_redaction(emu: Emulator, api: Client) -> None:
    secret = "d365-super-secret-token"
    assert api.get("/api/data-sources/data365").json() == {"registered": False}
    responses = [api.put("/api/data-sources/data365", {"token": secret + "-old"}),
                 api.put("/api/data-sources/data365", {"token": secret})]  # fmt: skip
    assert [r.json() for r in responses] == [{"status": "ok"}] * 2
    assert emu.token == secret
    assert api.get("/api/data-sources/data365").json() == {"registered": True}
    assert api.put("/api/data-sources/data365", {"token": ""}).status_code == 400
    assert api.delete("/api/data-sources/data365").status_code == 200
    assert api.get("/api/data-sources/data365").json() == {"registered": False}
    assert emu.requests[1].body == {"token": "***"}
    over_http = requests.get(emu.url + "/_emulator/requests", timeout=10).text
    assert secret not in over_http
    assert secret not in repr(emu.requests)
    assert all(secret not in r.text for r in responses)


# ---------------------------------------------------------------------------- control plane


def test_control_endpoints_over_http(emu: Emulator, api: Client) -> None:
    control = emu.url + "/_emulator"
    api.search("covid", size=3)
    log = requests.get(control + "/requests", timeout=10).json()
    assert log == [{"method": "POST", "path": "/api/search", "status": 200, "query": None,
                    "body": {"query": {"from": 0, "size": 3, "query": "covid",
                                       "data_sources": [TWITTER]}}}]  # fmt: skip
    assert requests.delete(control + "/requests", timeout=10).status_code == 200
    assert emu.requests == []
    changed = requests.post(control + "/config", json={"task_id_key": "TaskId"}, timeout=10)
    assert changed.json()["task_id_key"] == "TaskId"
    assert emu.config.task_id_key == "TaskId"
    bad = requests.post(control + "/config", json={"status_case": "camel"}, timeout=10)
    assert bad.status_code == 400
    task_id = api.create("tiktok_keywords", task())[0]["TaskId"]
    api.put(f"{PROVIDER}/tiktok_keywords/start-all")
    finished = requests.post(control + "/finish-running-tasks", timeout=10).json()
    assert finished == {"finished": [task_id]}
    added = requests.post(control + "/tasks", timeout=10, json={
        "source": "tiktok_keywords", "value": "v", "from_date": "2024-01-01",
        "to_date": "2024-01-01", "status": "finished"})  # fmt: skip
    assert added.status_code == 200
    count = requests.get(control + "/post-count/tiktok_keywords", timeout=10).json()
    assert count == {"source": "tiktok_keywords", "count": 600}
    api.get(f"{PROVIDER}/tiktok_keywords?page=2")
    assert emu.requests[-1].query == {"page": "2"}


# ---------------------------------------------------------------------------- command line


def _start_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "data365_emulator", "--port", "0", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_cli_serves_until_sigterm() -> None:
    process = _start_cli("--scale", "0.01", "--api-key", "cli-key", "--finish-status", "finished")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("emulator listening on http://127.0.0.1:")
        url = line.split(" on ", 1)[1].strip()
        client = Client(url, key="cli-key")
        assert client.search("*").json()["results"]
        config = requests.get(url + "/_emulator/config", timeout=10).json()
        assert config["finish_status"] == "finished"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert process.stdout.read() == ""  # exactly one line on stdout
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_refuses_non_loopback_host() -> None:
    process = _start_cli("--host", "0.0.0.0")  # the point of the test
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "loopback" in err


def test_cli_control_config_json_round_trips() -> None:
    config = EmulatorConfig().as_json()
    assert json.loads(json.dumps(config)) == config
