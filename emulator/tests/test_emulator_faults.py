"""The emulator's faults over real HTTP: statuses, drops, Retry-After, latency, in-flight limit,
and the settings it refuses."""

from __future__ import annotations

import threading

import pytest
import requests
from helpers import PROVIDER, Client

from data365_emulator import Emulator, EmulatorConfig
from data365_emulator import server as server_mod

# ---------------------------------------------------------------------------- faults


@pytest.mark.parametrize("kind", ["429", "503", "500"])
def test_fail_next_status_faults(emu: Emulator, api: Client, kind: str) -> None:
    emu.configure(fail_next=[kind])
    response = api.get(PROVIDER)
    assert response.status_code == int(kind)
    assert ("Retry-After" in response.headers) == (kind == "429")
    assert api.get(PROVIDER).status_code == 200  # only the next request
    assert [r.status for r in emu.requests] == [int(kind), 200]


@pytest.mark.parametrize(("seconds", "header"), [(1, "1"), (0, "0"), (2.5, "2.5")])
def test_retry_after_header(emu: Emulator, api: Client, seconds: float, header: str) -> None:
    emu.configure(fail_next=["429"], retry_after=seconds)
    assert api.get(PROVIDER).headers["Retry-After"] == header


def test_drop_closes_without_response_and_next_request_works(emu: Emulator, api: Client) -> None:
    emu.configure(fail_next=["drop", "429"])
    with pytest.raises(requests.ConnectionError):
        api.search("*")
    assert api.search("*").status_code == 429
    assert api.search("*").status_code == 200
    assert [r.status for r in emu.requests] == [0, 429, 200]


def test_faults_spare_control_endpoints(emu: Emulator) -> None:
    emu.configure(fault_rate=1.0, fault_kinds=["503"])
    assert requests.get(emu.url + "/_emulator/health", timeout=10).status_code == 200
    assert Client(emu.url).get(PROVIDER).status_code == 503


def _fault_pattern(seed: int) -> list[int]:
    cfg = EmulatorConfig(seed=seed, fault_rate=0.5, fault_kinds=("429", "503", "500"), empty=True)
    with Emulator(cfg) as emu:
        client = Client(emu.url)
        return [client.get(PROVIDER).status_code for _ in range(40)]


def test_fault_rate_is_deterministic_per_seed() -> None:
    pattern = _fault_pattern(7)
    assert pattern == _fault_pattern(7)
    assert {200, 429, 503, 500} <= set(pattern)
    assert pattern != _fault_pattern(8)


def test_latency_sleeps_in_handler(
    emu: Emulator, api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(server_mod, "sleep", slept.append)
    api.get(PROVIDER)
    emu.configure(latency_ms=250)
    api.get(PROVIDER)
    requests.get(emu.url + "/_emulator/health", timeout=10)  # control: never delayed
    assert slept == [0.25]


def test_config_validation(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="fault"):
        emu.configure(fault_kinds=["418"])
    with pytest.raises(ValueError, match="unknown config"):
        emu.configure(no_such_field=1)
    with pytest.raises(ValueError, match="task_id_key"):
        EmulatorConfig(task_id_key="uuid")
    with pytest.raises(ValueError, match="loopback"):
        Emulator(host="0.0.0.0")  # the point of the test


def test_max_in_flight_refuses_with_retry_after_beyond_the_limit(
    emu: Emulator, api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first request holds its slot inside the latency until released; a second request
    # arriving meanwhile is beyond the limit. No timing: the hold is an Event.

    entered, release = threading.Event(), threading.Event()

    def hold(seconds: float) -> None:
        if not entered.is_set():
            entered.set()
            release.wait(30)

    monkeypatch.setattr(server_mod, "sleep", hold)
    emu.configure(max_in_flight=1, latency_ms=1, retry_after=3)
    first: list[requests.Response] = []
    holder = threading.Thread(target=lambda: first.append(Client(emu.url).get(PROVIDER)))
    holder.start()
    assert entered.wait(30)
    refused = api.get(PROVIDER)
    release.set()
    holder.join(30)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3"
    assert first[0].status_code == 200
    assert api.get(PROVIDER).status_code == 200  # the slot was given back
    assert [r.status for r in emu.requests] == [429, 200, 200]
    assert emu.gate.refused == 1
