"""The one way the tests start an emulator (no tests here).

``start_emulator(**config)`` runs one that accepts the tests' one ``API_KEY``; a module passes
its own data (seeded posts, sources, faults) as ``EmulatorConfig`` fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from data365_emulator import Emulator, EmulatorConfig
from tests.helpers.tap import API_KEY


@contextmanager
def start_emulator(**config: Any) -> Iterator[Emulator]:
    """A running emulator on 127.0.0.1; ``config`` overrides EmulatorConfig's defaults."""
    with Emulator(EmulatorConfig(api_key=API_KEY).replace(config)) as emulator:
        yield emulator
