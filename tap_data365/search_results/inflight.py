"""The page requests of a sync in flight across window and sweep boundaries.

Windows are read one after another (their posts come out in order, so checkpoints stay
simple), but at 100 ms per request a reader that waits for each window's last pages before
asking for the next window's first ones leaves most of its ``concurrency`` slots idle at every
boundary, and all of them while a completed window's posts are handed out. So the reader
tells the pipeline what the windows after this one will certainly ask for (``plan_ahead``:
their first page, or every page up to the one their count expects to be short), and the
pipeline fills every slot the current window leaves free with those.

Only requests the reader is bound to make are asked ahead, keyed by (query, offset), and a
page is handed out once: the same requests are made as without the pipeline, and a page read
again (a window that changed while being read) is a new request. The current window's
requests go out first (ahead of any asked before), at most ``concurrency`` are in flight,
and ``ahead_limit`` bounds the pages asked ahead and not yet taken, so memory holds the
current window and at most that many pages more.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Any, TypeVar

from tap_data365.search_results.ranges import Post

#: (lucene query, from, size) -> the page's posts.
PageFetcher = Callable[[str, int, int], list[Post]]
#: Pages to ask for: (lucene query, offsets).
PageRequests = list[tuple[str, list[int]]]

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True, eq=False)
class _Request:
    key: object
    call: Callable[[], Any]
    #: Resolved with the call's answer once it is in.
    answer: Future[Any]


class PagePipeline:
    """Up to ``concurrency`` requests in flight: the current window's first, then the next ones'."""

    def __init__(
        self, fetch_page: PageFetcher, *, page_size: int, concurrency: int, ahead_limit: int
    ) -> None:
        self._fetch_page = fetch_page
        self._page_size = page_size
        self._slots = max(1, concurrency)
        self._pool = ThreadPoolExecutor(self._slots, thread_name_prefix="data365-page")
        self._lock = threading.Lock()
        #: Requests asked for and not handed out yet (waiting, in flight or answered).
        self._asked: dict[object, Future[Any]] = {}
        #: Requests not sent yet, the next to go out first.
        self._waiting: deque[_Request] = deque()
        self._in_flight = 0
        self._closed = False
        self._ahead: PageRequests = []
        self._ahead_limit = ahead_limit

    def __enter__(self) -> PagePipeline:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Requests not sent yet are dropped (the sync stopped); those in flight finish."""
        with self._lock:
            self._closed = True
            for request in self._waiting:
                request.answer.cancel()
            self._waiting.clear()
            self._asked.clear()
        self._pool.shutdown(wait=True)

    def plan_ahead(self, requests: PageRequests) -> None:
        """What the next windows will certainly ask for, asked whenever the current one asks."""
        self._ahead = requests

    def pages(self, query: str, offsets: Sequence[int]) -> list[list[Post]]:
        """The pages at ``offsets`` (those asked ahead are taken, the others asked now)."""
        keys: list[object] = [(query, offset) for offset in offsets]
        size = self._page_size
        calls = [partial(self._fetch_page, query, offset, size) for offset in offsets]
        return self._now(keys, calls)

    def map(self, function: Callable[[_T], _R], items: Sequence[_T]) -> list[_R]:
        """``function`` over ``items`` as requests of the current window (the Count API's)."""
        keys = [object() for _ in items]
        return self._now(keys, [partial(function, item) for item in items])

    def _now(self, keys: Sequence[object], calls: Sequence[Callable[[], Any]]) -> list[Any]:
        wanted = set(keys)
        with self._lock:
            # Ahead of everything asked before: the reader waits for these.
            ahead_of_time = [request for request in self._waiting if request.key in wanted]
            for request in ahead_of_time:
                self._waiting.remove(request)
            fresh = [
                self._request(key, call)
                for key, call in zip(keys, calls, strict=True)
                if key not in self._asked
            ]
            self._waiting.extendleft(reversed([*fresh, *ahead_of_time]))
            self._ask_ahead(len(keys))
            sendable = self._sendable()
        self._send(sendable)
        try:
            return [self._asked[key].result() for key in keys]
        finally:
            with self._lock:
                for key in keys:  # each page once: asking again is a new request
                    self._asked.pop(key, None)

    def _ask_ahead(self, current: int) -> None:
        """The planned pages, behind the current ones, within ``ahead_limit`` (the rest are
        asked when their window is read)."""
        room = self._ahead_limit - (len(self._asked) - current)
        size = self._page_size
        for query, offsets in self._ahead:
            for offset in offsets:
                if room <= 0:
                    return
                key = (query, offset)
                if key not in self._asked:
                    call = partial(self._fetch_page, query, offset, size)
                    self._waiting.append(self._request(key, call))
                    room -= 1

    def _request(self, key: object, call: Callable[[], Any]) -> _Request:
        request = _Request(key, call, Future())
        self._asked[key] = request.answer
        return request

    def _sendable(self) -> list[_Request]:
        """The requests that take the free slots (called with the lock held)."""
        sendable = []
        while self._waiting and self._in_flight < self._slots and not self._closed:
            sendable.append(self._waiting.popleft())
            self._in_flight += 1
        return sendable

    def _send(self, requests: list[_Request]) -> None:
        """Out of the lock: an answer already in runs its callback in this thread."""
        for request in requests:
            try:
                sent = self._pool.submit(request.call)
            except RuntimeError:  # closed meanwhile: the sync stopped
                request.answer.cancel()
                continue
            sent.add_done_callback(partial(self._answered, request.answer))

    def _answered(self, target: Future[Any], done: Future[Any]) -> None:
        # The answer first: the reader may be waiting for it.
        if target.set_running_or_notify_cancel():  # else dropped by close
            error = done.exception()
            if error is None:
                target.set_result(done.result())
            else:
                target.set_exception(error)
        with self._lock:
            self._in_flight -= 1
            sendable = self._sendable()
        self._send(sendable)
