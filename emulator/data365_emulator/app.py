"""``Emulator``: owns the data, the tasks and the HTTP server thread; the Python control API.

It wires the layers below it and none of them knows it: the server is handed its ``Routes``,
the API an ``ApiState``, the control plane this object as its ``Controls``.
"""

from __future__ import annotations

import calendar
import ipaddress
import threading
import time
from collections.abc import Callable, Mapping
from functools import partial
from types import TracebackType
from typing import Any

from data365_emulator import api, control
from data365_emulator.arrivals import parse_shares
from data365_emulator.config import EmulatorConfig
from data365_emulator.faults import FaultInjector
from data365_emulator.inflight import InFlightGate
from data365_emulator.instants import instant_us
from data365_emulator.live import LiveFeed
from data365_emulator.requestlog import LoggedRequest, RequestLog
from data365_emulator.search import SearchEngine
from data365_emulator.seed import iso_now, seed_task_id
from data365_emulator.server import EmulatorServer, Routes
from data365_emulator.sources import SOURCES
from data365_emulator.store import Indexes
from data365_emulator.tasks import Task, TaskBook

#: Sample task values per source, from the seed page's table.
SAMPLE_VALUES = {
    "facebook_hashtag": "tesla", "facebook_keywords_latest": "toyota",
    "facebook_keywords_top": "samsung", "facebook_profile": "cristiano",
    "instagram_hashtag": "bitcoins", "instagram_location": "212988663",
    "instagram_profile": "spacex", "linkedin_company": "microsoft", "linkedin_keywords": "italy",
    "linkedin_member": "satyanadella", "tiktok_hashtag": "hellokitty",
    "tiktok_keywords": "world cup",
    "tiktok_music": "Breakfast-Challenge-Song-Slowly/6669854674113317638",
    "tiktok_profile": "sssorn_chonnasorn", "twitter_keywords": "covid-19",
    "twitter_profile": "cp24",
}  # fmt: skip
#: How often the live feed adds what is due when no request asks (requests catch up first).
TICK_SECONDS = 0.5


def check_loopback(host: str) -> None:
    """The emulator has no real auth: refuse to listen anywhere but this machine."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        msg = f"refusing to listen on non-loopback host {host!r}"
        raise ValueError(msg)


class Emulator:
    """A local Datastreamer API on 127.0.0.1; use as a context manager."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``clock`` (seconds since the epoch) times live arrivals; tests pass their own."""
        check_loopback(host)
        cfg = config or EmulatorConfig()
        self._config = cfg
        self._address = (host, port)
        self._config_lock = threading.Lock()
        self.indexes = Indexes(cfg.seed, cfg.seed_counts(), odd_values=cfg.odd_values)
        self.tasks = TaskBook(cfg.seed, self._on_finish)
        self.engine = SearchEngine(self.indexes)
        self.api_state = api.ApiState(self.engine, self.tasks)
        self.faults = FaultInjector(cfg.seed, cfg.fail_next)
        self.gate = InFlightGate()
        self.log = RequestLog()
        self.live = LiveFeed(self.indexes, cfg.seed, clock)
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._ticker: threading.Thread | None = None
        self._stopping = threading.Event()
        if cfg.seed_tasks:
            self._seed_tasks()

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> Emulator:
        if self._server is None:
            self._server = EmulatorServer(self._address, self._routes())
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="data365-emulator",
                daemon=True,
            )
            self._thread.start()
            self.live.start(self._config)
            self._stopping.clear()
            self._ticker = threading.Thread(target=self._tick, name="data365-live", daemon=True)
            self._ticker.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        if self._ticker is not None:
            self._ticker.join()
        self.live.stop()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()

    def _routes(self) -> Routes:
        return Routes(
            config=lambda: self._config,
            before_each=lambda: self.live.catch_up(self._config),
            control=partial(control.handle, self),
            api=partial(api.handle, self.api_state),
            gate=self.gate,
            faults=self.faults,
            log=self.log,
        )

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            msg = "emulator is not running"
            raise RuntimeError(msg)
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token(self) -> str | None:
        """The Data365 access token the API last registered (None: none, or deleted)."""
        return self.api_state.token

    @token.setter
    def token(self, value: str | None) -> None:
        self.api_state.token = value

    # ---------------------------------------------------------------- configuration

    @property
    def config(self) -> EmulatorConfig:
        return self._config

    def configure(self, **changes: Any) -> EmulatorConfig:
        """Change settings at runtime; seeded data is fixed at start and not rebuilt."""
        with self._config_lock:
            new = self._config.replace(changes)
            if "fail_next" in changes:
                self.faults.set_next(new.fail_next)
            self.live.retune(self._config, new)
            self._config = new  # one attribute swap: requests see old or new, never a mix
        return new

    # ---------------------------------------------------------------- inspection and seeding

    @property
    def requests(self) -> list[LoggedRequest]:
        return self.log.snapshot()

    def clear_requests(self) -> None:
        self.log.clear()

    def finish_running_tasks(self) -> list[str]:
        return self.tasks.finish_running(self._config)

    def add_task(
        self,
        source: str,
        value: str,
        from_date: str,
        to_date: str,
        *,
        status: str = "created",
        update_interval: int | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> str:
        if source not in SOURCES:
            msg = f"unknown source: {source}"
            raise ValueError(msg)
        task = self.tasks.add(
            source,
            value,
            from_date,
            to_date,
            status=status,
            update_interval=update_interval,
            parameters=parameters,
        )
        return task.id

    def post_count(self, source: str) -> int:
        return self.indexes.count(source)

    def add_posts(self, source: str, count: int, from_date: str, to_date: str) -> int:
        """Make ``count`` posts dated in [from_date, to_date] searchable without any task
        (indexing delays, a task removed before the tap saw it): found now, found_by null."""
        if source not in SOURCES:
            msg = f"unknown source: {source}"
            raise ValueError(msg)
        return self.indexes.add_untasked_posts(source, count, from_date, to_date, iso_now())

    def add_dated_posts(
        self, source: str, doc_dates: list[str], found: str | None = None
    ) -> list[str]:
        """Make posts dated exactly ``doc_dates`` (text kept as given) searchable without any
        task, found at ``found`` (default: now); returns their ids in the order of
        ``doc_dates``."""
        if source not in SOURCES:
            msg = f"unknown source: {source}"
            raise ValueError(msg)
        if not isinstance(doc_dates, list) or not all(isinstance(d, str) for d in doc_dates):
            msg = "doc_dates must be a list of date strings"
            raise ValueError(msg)
        if found is not None and instant_us(found) is None:
            msg = "found must be a date string"
            raise ValueError(msg)
        posts = self.indexes.add_dated_posts(source, doc_dates, found or iso_now())
        return [post.doc_id for post in posts]

    def add_arrivals(
        self, count: int, source: str | None = None, shares: Mapping[str, float] | None = None
    ) -> dict[str, Any]:
        """A burst of ``count`` posts found now (fresh / late / very late by ``shares``,
        default ``live_shares``) in ``source`` (default: the first of ``live_sources``)."""
        cfg = self._config
        source = source or cfg.live_sources[0]
        if source not in SOURCES:
            msg = f"unknown source: {source}"
            raise ValueError(msg)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            msg = f"count must be a whole number >= 0; got {count!r}"
            raise ValueError(msg)
        mix = cfg.live_shares if shares is None else parse_shares(shares)
        return self.live.burst(cfg, source, count, mix)

    def _tick(self) -> None:
        while not self._stopping.wait(TICK_SECONDS):
            self.live.catch_up(self._config)

    def _on_finish(self, task: Task, run: int, found: str) -> None:
        # The first run collects the range; a re-run (repeating task) finds a few new posts.
        count = self._config.posts_per_task if run == 1 else self._config.rerun_posts
        self.indexes.add_task_posts(task.source, task.as_seed(), run, count, found)

    def _seed_tasks(self) -> None:
        """One complete task per seeded source and month, whose ids the seeded posts cite."""
        for source in self._config.seed_counts():
            for month in range(1, 13):
                last = calendar.monthrange(2024, month)[1]
                self.tasks.add(
                    source,
                    SAMPLE_VALUES[source],
                    f"2024-{month:02d}-01",
                    f"2024-{month:02d}-{last:02d}",
                    status="complete",
                    task_id=seed_task_id(self._config.seed, source, month),
                    with_posts=False,
                )
