"""A sync's first search requests, sent while its plan is still being made.

Before the first page of a sub-source is read, the sync waits for its task list (the plan
reads finished tasks' ranges); and the first window's count is only asked once its first page
came back full. At 100 ms a request that is three round trips in a row before the pages of
the first windows can go out. On a first sync (no bookmark in the state) the plan reads the
doc_date sweep from the start whatever the tasks hold (``plan.first_sweep``), so its first
page and that window's count are sent at once, beside the task list.

Only what the reader then asks is sent: the first page always is; the count is, unless that
page comes back short (one count request too many on a first sync of fewer posts than a page).
Each early answer is taken once, by the first identical request, at the time the reader makes
it: an error is raised there, as it would have been, and a page asked again is a new request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

#: (lucene query, from, size) → the Search API's answer, as sent.
SearchRequest = Callable[[str, int, int], object]
#: Lucene query → the Count API's answer, as sent.
CountRequest = Callable[[str], object]

_T = TypeVar("_T")


class FirstReads:
    """``search`` and ``count`` as the sync makes them, the first ones possibly sent early."""

    def __init__(self, search: SearchRequest, count: CountRequest) -> None:
        self._search = search
        self._count = count
        self._lock = threading.Lock()
        self._pages: dict[tuple[str, int, int], Future[object]] = {}
        self._counts: dict[str, Future[object]] = {}

    def send(self, query: str, page_size: int, *, count: bool) -> None:
        """Send the first page of ``query`` (and its count) now, in the background."""
        with self._lock:
            self._pages[(query, 0, page_size)] = in_background(
                lambda: self._search(query, 0, page_size)
            )
            if count:
                self._counts[query] = in_background(lambda: self._count(query))

    def search(self, query: str, offset: int, size: int) -> object:
        """The Search API's answer (sent early, or now)."""
        with self._lock:
            early = self._pages.pop((query, offset, size), None) if self._pages else None
        if early is not None:
            return early.result()
        return self._search(query, offset, size)

    def count(self, query: str) -> object:
        """The Count API's answer (sent early, or now)."""
        with self._lock:
            early = self._counts.pop(query, None) if self._counts else None
        if early is not None:
            return early.result()
        return self._count(query)


def in_background(call: Callable[[], _T]) -> Future[_T]:
    """``call`` on a daemon thread: a sync that stops meanwhile does not wait for it."""
    answer: Future[_T] = Future()

    def run() -> None:
        answer.set_running_or_notify_cancel()
        try:
            answer.set_result(call())
        except BaseException as exc:  # noqa: BLE001  (raised where the answer is taken)
            answer.set_exception(exc)

    threading.Thread(target=run, name="data365-first-reads", daemon=True).start()
    return answer
