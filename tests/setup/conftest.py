"""The setup command's emulator: no task yet, 429s retried at once (a module may override it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from data365_emulator import Emulator
from tests.helpers.emulator import start_emulator
from tests.helpers.setup import SETUP_EMULATOR


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with start_emulator(**SETUP_EMULATOR) as emulator:
        yield emulator
