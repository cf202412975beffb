"""`setup --wait`'s pacing, over HTTP: polls grow by half up to the cap, the deadline clips them.

The tasks are real emulator tasks read with the real control-plane client; only time is
stood in for (a clock that moves by exactly what ``wait_for`` sleeps), so the pauses are
checked exactly and no test waits.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from data365_emulator import Emulator
from tap_data365.settings import ApiSettings
from tap_data365.setup.control_api import Data365Api
from tap_data365.setup.plan import PlannedTask, apply_setup_plan, make_setup_plan, wait_for
from tap_data365.setup.specs import validate_tasks
from tests.helpers.emulator import start_emulator
from tests.helpers.setup import SETUP_EMULATOR, TASKS
from tests.helpers.tap import API_KEY


class Clock:
    """Time that passes only when slept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def emu() -> Iterator[Emulator]:
    # Each task's own status turns complete on its 5th read.
    with start_emulator(**SETUP_EMULATOR, polls_to_finish=5) as emulator:
        yield emulator


def _started(api: Data365Api) -> list[PlannedTask]:
    specs = validate_tasks(TASKS)
    plan = make_setup_plan(specs, {s: api.list_tasks(s) for s in sorted({t.source for t in specs})})
    apply_setup_plan(api, plan, start=True)
    return plan.tasks


def _task_reads(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.method == "GET" and r.path.count("/") == 5)


def test_polls_slow_down_by_half_up_to_the_cap(emu: Emulator) -> None:
    clock = Clock()
    with Data365Api(ApiSettings(emu.url, API_KEY)) as api:
        tasks = _started(api)
        emu.clear_requests()
        result = wait_for(
            api, tasks, timeout=None, poll_interval=2.0, max_interval=4.0,
            sleep=clock.sleep, clock=clock,
        )  # fmt: skip

    assert [t.spec.value for t in result.done] == [t.spec.value for t in tasks]
    assert not result.open
    assert not result.failed
    assert clock.pauses == [2.0, 3.0, 4.0, 4.0]  # 1.5 times longer, up to max_interval
    assert _task_reads(emu) == 5 * len(tasks)  # one read per task per round, none wasted


def test_the_deadline_clips_the_last_pause_and_leaves_tasks_open(emu: Emulator) -> None:
    clock = Clock()
    with Data365Api(ApiSettings(emu.url, API_KEY)) as api:
        tasks = _started(api)
        result = wait_for(
            api, tasks, timeout=4.0, poll_interval=2.0, sleep=clock.sleep, clock=clock
        )

    assert clock.pauses == [2.0, 2.0]  # the second pause (3 s) ends at the 4 s deadline
    assert len(result.open) == len(tasks)
    assert result.elapsed == 4.0
