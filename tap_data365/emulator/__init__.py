"""A local Datastreamer API for offline tests, demos and benchmarks.

Real HTTP on 127.0.0.1, seeded posts, the Data365 task lifecycle, a Lucene subset, the
documented search limits, and switches for every undocumented response shape and for faults.
"""

from tap_data365.emulator.app import Emulator
from tap_data365.emulator.config import EmulatorConfig
from tap_data365.emulator.requestlog import LoggedRequest

__all__ = ["Emulator", "EmulatorConfig", "LoggedRequest"]
