"""The retry policy reads real API answers: Retry-After is honoured, otherwise jittered backoff."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from singer_sdk.exceptions import RetriableAPIError
from tap_harness import API_KEY

from data365_emulator import Emulator, EmulatorConfig
from tap_data365.client import Data365Stream
from tap_data365.tap import TapData365


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(api_key=API_KEY, empty=True)) as emu:
        yield emu


def failed_response(emulator: Emulator, kind: str, retry_after: float = 1) -> requests.Response:
    emulator.configure(fail_next=[kind], retry_after=retry_after)
    response = requests.get(
        f"{emulator.url}/api/data-providers/data365", headers={"apikey": API_KEY}, timeout=10
    )
    assert response.status_code == int(kind)
    return response


def waits_after(emulator: Emulator, response: requests.Response) -> list[float]:
    tap = TapData365(config={"api_key": API_KEY, "api_url": emulator.url}, setup_mapper=False)
    stream = tap.streams["search_results"]
    assert isinstance(stream, Data365Stream)
    generator = stream.backoff_wait_generator()
    next(generator)
    return [generator.send(RetriableAPIError("retry", response)) for _ in range(6)]


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


def test_a_rejected_key_is_not_retried(emulator: Emulator, tmp_path: object) -> None:
    tap = TapData365(config={"api_key": "not-the-key", "api_url": emulator.url}, setup_mapper=False)
    stream = tap.streams["sources"]
    emulator.clear_requests()
    with pytest.raises(Exception, match="rejected the api_key") as caught:
        stream.request_json("GET", "/api/data-providers/data365", what="listing sources")  # type: ignore[attr-defined]
    assert "not-the-key" not in str(caught.value)
    assert len(emulator.requests) == 1
