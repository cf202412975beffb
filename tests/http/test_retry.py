"""The transport's retry policy reads real API answers: Retry-After is honoured, otherwise
jittered backoff; the tap's streams and setup share it (http/transport.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from data365_emulator import Emulator
from tap_data365.http.retry import backoff_waits, next_retry_wait
from tap_data365.settings import ApiSettings
from tap_data365.setup.control_api import Data365Api
from tap_data365.streams.base import Data365Stream
from tap_data365.tap import TapData365
from tests.helpers.emulator import start_emulator
from tests.helpers.tap import API_KEY


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator(empty=True) as emu:
        yield emu


def failed_response(emulator: Emulator, kind: str, retry_after: float = 1) -> requests.Response:
    emulator.configure(fail_next=[kind], retry_after=retry_after)
    response = requests.get(
        f"{emulator.url}/api/data-providers/data365", headers={"apikey": API_KEY}, timeout=10
    )
    assert response.status_code == int(kind)
    return response


def waits_after(emulator: Emulator, response: requests.Response) -> list[float]:
    """The waits the transport's policy gives after six such answers in a row."""
    tap = TapData365(config={"api_key": API_KEY, "api_url": emulator.url}, setup_mapper=False)
    stream = tap.streams["search_results"]
    assert isinstance(stream, Data365Stream)
    waits = backoff_waits()
    max_wait = stream.run.transport.settings.max_retry_wait
    return [next_retry_wait(response, waits, max_wait) for _ in range(6)]


def test_retry_after_from_a_real_429_is_honoured(emulator: Emulator) -> None:
    response = failed_response(emulator, "429", retry_after=7)
    assert response.headers["Retry-After"] == "7"
    assert waits_after(emulator, response) == [7.0] * 6


def test_without_retry_after_waits_grow_with_jitter(emulator: Emulator) -> None:
    response = failed_response(emulator, "503")
    assert "Retry-After" not in response.headers
    waits = waits_after(emulator, response)
    caps = [0.5 * 2**attempt for attempt in range(6)]
    assert all(0 <= wait <= cap for wait, cap in zip(waits, caps, strict=True))
    assert len(set(waits)) > 1  # jittered, not a fixed sequence


def test_the_transport_sleeps_jittered_waits_capped_at_30_s(emulator: Emulator) -> None:
    """Sixteen 503s and dropped connections in a row, through the transport: each wait it
    sleeps is drawn from 0..ceiling, the ceiling doubling from 0.5 s and then held at 30 s
    (uncapped, the last ten would have ceilings of 32 s to 4.5 hours), and is the wait its
    retry line names."""
    slept: list[float] = []
    lines: list[str] = []
    emulator.configure(fail_next=["503", "drop"] * 8)
    settings = ApiSettings(emulator.url, API_KEY, max_retries=16)
    with Data365Api(settings, sleep=slept.append, on_retry=lines.append) as api:
        api.connected_sources()
    ceilings = [min(30.0, 0.5 * 2**attempt) for attempt in range(16)]
    assert all(0 <= wait <= ceiling for wait, ceiling in zip(slept, ceilings, strict=True))
    assert len(set(slept)) > 1  # jittered, not a fixed sequence
    assert [line.rsplit("waiting ", 1)[1] for line in lines] == [f"{w:.1f} s" for w in slept]


def test_a_rejected_key_is_not_retried(emulator: Emulator, tmp_path: object) -> None:
    tap = TapData365(config={"api_key": "not-the-key", "api_url": emulator.url}, setup_mapper=False)
    stream = tap.streams["sources"]
    emulator.clear_requests()
    with pytest.raises(Exception, match="rejected the api_key") as caught:
        stream.request_json("GET", "/api/data-providers/data365", what="listing sources")  # type: ignore[attr-defined]
    assert "not-the-key" not in str(caught.value)
    assert len(emulator.requests) == 1


def test_the_tap_and_setup_share_one_transport_class_and_policy(emulator: Emulator) -> None:
    tap = TapData365(config={"api_key": API_KEY, "api_url": emulator.url}, setup_mapper=False)
    streams = [s for s in tap.streams.values() if isinstance(s, Data365Stream)]
    assert len({id(s.run.transport) for s in streams}) == 1  # one per run, whichever stream
    with Data365Api(ApiSettings(emulator.url, API_KEY)) as api:
        assert type(api._http) is type(streams[0].run.transport)
        assert api._http.settings == streams[0].run.transport.settings
