"""The emulator's own fixtures: a running emulator with its defaults, and a client of it.

Modules needing other data or settings define their own ``emu``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers import Client

from data365_emulator import Emulator, EmulatorConfig


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A running emulator with its defaults (modules needing other data define their own)."""
    with Emulator(EmulatorConfig()) as emulator:
        yield emulator


@pytest.fixture
def api(emu: Emulator) -> Client:
    """A keep-alive client of ``emu`` sending the default key."""
    return Client(emu.url)
