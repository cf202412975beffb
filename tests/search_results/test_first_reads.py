"""A sync's first requests go out together, and change nothing that comes out.

On a first sync of configured sub-sources, three pairs of requests are certain and do not
wait for each other: the sources list and the first sub-source's task list; the task list and
the first page of the doc_date sweep (no bookmark: the tasks cannot change what is read
first); that page and its window's count. The overlap is forced by progress, not timing: the
emulator holds one request of each pair until the other has arrived, so a tap that sends them
one after another never releases it, and the test fails.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from data365_emulator import Emulator
from data365_emulator import server as emulator_server
from tap_data365.search_results.plan import Lookbacks, first_sweep, plan_sync
from tap_data365.search_results.state import PartitionState
from tests.helpers.emulator import start_emulator
from tests.helpers.tap import sync

SOURCE = "twitter_keywords"
POSTS = 2_000
START = "2024-01-01T00:00:00Z"
SOURCES_LIST = "/api/data-providers/data365"
TASK_LIST = f"{SOURCES_LIST}/{SOURCE}"
#: Long enough for any request on a loaded machine: only a request never sent waits this long.
NEVER = 30

#: (method, path, body) of a request as the emulator receives it.
Arrived = tuple[str, str, object]
#: Which requests are held, and which request's arrival releases them.
Rule = tuple[Callable[[Arrived], bool], Callable[[Arrived], bool]]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with start_emulator(seed_posts={SOURCE: POSTS}) as emu:
        yield emu


def first_page(request: Arrived) -> bool:
    body = request[2]
    return request[1] == "/api/search" and isinstance(body, dict) and body["query"]["from"] == 0


class Holds:
    """Holds each request matching a rule until a request matching its release has arrived."""

    def __init__(self, rules: dict[str, Rule]) -> None:
        self._rules = rules
        self._lock = threading.Lock()
        self._seen = {name: threading.Event() for name in rules}
        self.held: list[str] = []
        self.never_released: list[str] = []

    def arrive(self, request: Arrived) -> None:
        waits = []
        with self._lock:
            for name, (held, release) in self._rules.items():
                if release(request):
                    self._seen[name].set()
                if held(request) and name not in self.held:
                    self.held.append(name)  # the first such request only
                    waits.append(name)
        for name in waits:
            if not self._seen[name].wait(NEVER):
                self.never_released.append(name)


@pytest.fixture
def holds(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Holds]:
    """Installs ``Holds`` in the emulator's handler (before it answers a request)."""
    answer = emulator_server.Handler._answer

    def install(**rules: Rule) -> Holds:
        hold = Holds(rules)

        def held_answer(handler: Any, cfg: Any, admitted: bool, fault: Any, request: Any) -> Any:
            method, path, _, body = request
            hold.arrive((method, path, body))
            return answer(handler, cfg, admitted, fault, request)

        monkeypatch.setattr(emulator_server.Handler, "_answer", held_answer)
        return hold

    return install


def test_a_first_syncs_certain_requests_wait_for_none_of_each_other(
    emulator: Emulator, tmp_path: Path, holds: Callable[..., Holds]
) -> None:
    emulator.configure(count_api="honour")
    counted: list[object] = []

    def count_of_first_page(request: Arrived) -> bool:
        if request[1] == "/api/count" and isinstance(request[2], dict):
            counted.append(request[2]["query"]["query"])
        return bool(counted)

    hold = holds(
        sources_with_tasks=(lambda r: r[1] == SOURCES_LIST, lambda r: r[1] == TASK_LIST),
        tasks_with_first_page=(lambda r: r[1] == TASK_LIST, first_page),
        page_with_count=(first_page, count_of_first_page),
    )
    result = sync(emulator, tmp_path, sources=[SOURCE], start_date=START)
    assert sorted(hold.held) == ["page_with_count", "sources_with_tasks", "tasks_with_first_page"]
    assert hold.never_released == []
    # Nothing is asked twice, nothing lost: the early answers are the ones the reader used.
    searches = [(r.body or {})["query"] for r in result.sent("/api/search")]
    asked = [(query["query"], query["from"]) for query in searches]
    assert len(asked) == len(set(asked)) == POSTS // 100 + 1
    assert [r.path for r in result.requests].count("/api/count") == 1
    assert counted[0] == searches[0]["query"]
    assert len(set(result.ids())) == POSTS
    assert result.duplicates() == 0


def test_with_a_bookmark_the_first_search_waits_for_the_task_list(
    emulator: Emulator, tmp_path: Path
) -> None:
    first = sync(emulator, tmp_path, sources=[SOURCE], start_date=START)
    again = sync(emulator, tmp_path, first.final_state, sources=[SOURCE], start_date=START)
    # The log holds requests as they were answered: the task list before any read of posts
    # (the plan it feeds decides what is read).
    paths = [r.path for r in again.requests]
    assert paths.index(TASK_LIST) < min(
        paths.index(path) for path in ("/api/search", "/api/count") if path in paths
    )


@pytest.mark.parametrize("bookmark", [None, "2024-06-01T00:00:00.000000Z"])
def test_the_first_sweep_is_the_plans_whatever_the_tasks_hold(bookmark: str | None) -> None:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    raw: dict[str, Any] = {} if bookmark is None else {"replication_key_value": bookmark}
    lookbacks = Lookbacks(doc_date=dt.timedelta(hours=1), discovery=dt.timedelta(hours=1))
    task = {"id": "t1", "status": "done", "updated_at": "2024-07-01T00:00:00Z",
            "from_date": "2024-02-01", "to_date": "2024-03-01"}  # fmt: skip
    options: dict[str, Any] = {"start": start, "floor": start, "end": None}
    early = first_sweep(PartitionState(raw), lookbacks, **options)
    planned = plan_sync(PartitionState(raw), [task], lookbacks, **options).sweeps()
    if bookmark is None:
        assert early == planned[0]
    else:
        assert early is None  # the task list may add a task-range sweep first
