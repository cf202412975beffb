"""Emulator settings: one dataclass, every field defaulted, validated on construction.

Most fields exist because the real response shapes are undocumented (reference §11): each
guess is a switch, so the tap can be tested against every spelling it claims to accept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from data365_emulator.arrivals import DEFAULT_SHARES, parse_lag, parse_rate, parse_shares
from data365_emulator.sources import SOURCES

#: Post counts of the seeded search indexes (short source name → posts) at scale 1.
DEFAULT_SEED_POSTS: dict[str, int] = {
    "twitter_keywords": 25_000,
    "tiktok_hashtag": 3_000,
    "instagram_profile": 1_200,
    "facebook_profile": 600,
    "linkedin_company": 300,
}

FAULT_KINDS = ("429", "503", "500", "drop")
_CHOICES: dict[str, tuple[object, ...]] = {
    "sources_item": ("string", "object"),
    "sources_wrapper": (None, "data_sources", "sources", "data", "items", "results"),
    "tasks_wrapper": (None, "tasks", "data", "items"),
    "task_wrapper": (None, "task", "data"),
    "task_id_key": ("id", "task_id", "taskId", "TaskId"),
    "status_case": ("lower", "upper", "title"),
    "finish_status": ("complete", "finished", "alternate"),
    "fail_status": ("failed", "fail"),
    "search_order": ("relevance", "doc_date_desc", "doc_date_asc"),
    "found_ranges": ("honour", "ignore", "match_none"),
    "doc_date_ranges": ("honour", "ignore"),
    "count_api": ("honour", "absent", "wrong"),
    "date_precision": ("ms", "us", "s"),
}


@dataclasses.dataclass(frozen=True)
class EmulatorConfig:
    """Everything the emulator can be told; change at runtime with ``Emulator.configure``."""

    api_key: str = "test-key"
    seed: int = 365
    verbose: bool = False

    # -- seeded data (read once, when the emulator starts)
    empty: bool = False
    scale: float = 1.0
    seed_posts: Mapping[str, int] = dataclasses.field(
        default_factory=lambda: dict(DEFAULT_SEED_POSTS)
    )
    seed_tasks: bool = False
    #: Every 7th seeded post in an odd shape (counts as text, other date spellings, ...):
    #: see variants.py.
    odd_values: bool = False

    # -- sources and task shapes
    connected_sources: tuple[str, ...] = SOURCES
    sources_item: str = "string"
    sources_wrapper: str | None = None
    tasks_wrapper: str | None = None
    task_wrapper: str | None = None
    task_id_key: str = "id"
    status_case: str = "lower"

    # -- task lifecycle
    polls_to_finish: int = 2
    finish_status: str = "complete"
    fail_status: str = "failed"
    list_status_lag: bool = True
    posts_per_task: int = 300
    #: Posts a re-run of a finished task adds (a repeating task finds a few new ones).
    rerun_posts: int = 30

    # -- search
    include_total: bool = False
    include_search_after: bool = True
    search_order: str = "relevance"
    honour_sort: bool = True
    #: How a range on ``content.found`` is treated: honoured, ignored (matches every post)
    #: or matching nothing; Datastreamer does not document that the field is filterable.
    found_ranges: str = "honour"
    #: "ignore": a ``doc_date`` range matches every post (a server the tap must refuse).
    doc_date_ranges: str = "honour"
    #: How finely dates are indexed ("ms", as the Search API's Elasticsearch ``date`` fields;
    #: "us" or "s"): a post's ``doc_date`` and ``content.found`` and every range bound are
    #: read as the unit they fall in; the documents keep their text (as ``_source`` does).
    date_precision: str = "ms"
    #: > 0: search pages starting at this offset come back half full, the pages after them
    #: whole, as when posts vanish while a result list is paged (0: off).
    unstable_page_from: int = 0
    #: ``POST /api/count``: the true total, "absent" (404, as for sources the Count API does
    #: not serve) or "wrong" (half the total, a count the tap must not trust).
    count_api: str = "honour"

    # -- live arrivals (arrivals.py, live.py): posts found while the emulator runs
    #: Posts per second (0: off). "N/s", "N/min" and "N/h" are read as posts per second.
    live_rate: float = 0.0
    #: Relative weights of fresh (dated in the last hour), late (2-7 days back) and very
    #: late (200-300 days back) arrivals, live and in bursts.
    live_shares: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: dict(DEFAULT_SHARES)
    )
    #: The sources live arrivals go to, in turn (a comma list is accepted too).
    live_sources: tuple[str, ...] = ("twitter_keywords",)
    #: How long after its ``content.found`` a live arrival becomes searchable, (low, high)
    #: seconds, drawn per arrival ("2m", "1m-15m" and [low, high] are read too; 0: at once).
    index_lag: tuple[float, float] = (0.0, 0.0)

    # -- faults
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = ("429", "503", "drop")
    retry_after: float = 1.0
    fail_next: tuple[str, ...] = ()
    reject_key: bool = False
    #: Requests served at once; beyond it, 429 with ``Retry-After: retry_after`` (0: no limit).
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        self._read_live()
        for name, allowed in _CHOICES.items():
            if getattr(self, name) not in allowed:
                msg = f"{name} must be one of {allowed}, got {getattr(self, name)!r}"
                raise ValueError(msg)
        for kind in (*self.fault_kinds, *self.fail_next):
            if kind not in FAULT_KINDS:
                msg = f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}"
                raise ValueError(msg)
        unknown = [s for s in (*self.connected_sources, *self.seed_posts) if s not in SOURCES]
        if unknown:
            msg = f"unknown sources: {', '.join(unknown)}"
            raise ValueError(msg)
        if not 0.0 <= self.fault_rate <= 1.0:
            msg = "fault_rate must be within 0..1"
            raise ValueError(msg)
        if (self.polls_to_finish < 1 or self.posts_per_task < 0 or self.rerun_posts < 0
                or self.scale < 0):  # fmt: skip
            msg = "polls_to_finish must be >= 1, posts_per_task, rerun_posts and scale >= 0"
            raise ValueError(msg)
        if self.max_in_flight < 0:
            msg = "max_in_flight must be >= 0 (0: no limit)"
            raise ValueError(msg)
        if self.latency_ms < 0 or self.retry_after < 0:
            msg = "latency_ms and retry_after must be >= 0"
            raise ValueError(msg)

    def _read_live(self) -> None:
        # The spellings the command line and the control API accept become one form here.
        object.__setattr__(self, "live_rate", parse_rate(self.live_rate))
        object.__setattr__(self, "live_shares", parse_shares(self.live_shares))
        object.__setattr__(self, "index_lag", parse_lag(self.index_lag))
        sources: object = self.live_sources
        if isinstance(sources, str):
            sources = tuple(s.strip() for s in sources.split(",") if s.strip())
        if not isinstance(sources, tuple) or not sources:
            msg = f"live_sources must name at least one source; got {sources!r}"
            raise ValueError(msg)
        unknown = [s for s in sources if s not in SOURCES]
        if unknown:
            msg = f"live_sources: unknown sources {', '.join(map(str, unknown))}"
            raise ValueError(msg)
        object.__setattr__(self, "live_sources", sources)

    def seed_counts(self) -> dict[str, int]:
        """Posts to seed per source, after ``empty`` and ``scale``."""
        if self.empty:
            return {}
        return {s: round(n * self.scale) for s, n in self.seed_posts.items() if n > 0}

    def replace(self, changes: Mapping[str, Any]) -> EmulatorConfig:
        """A copy with ``changes`` applied; JSON lists become tuples; unknown names rejected."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            msg = f"unknown config fields: {', '.join(unknown)}"
            raise ValueError(msg)
        coerced: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()
        }
        kinds = coerced.get("fault_kinds")
        if isinstance(kinds, str):  # the CLI's "429,503,drop" spelling
            coerced["fault_kinds"] = tuple(k for k in kinds.split(",") if k)
        return dataclasses.replace(self, **coerced)

    def as_json(self) -> dict[str, Any]:
        """The settings as plain JSON values (the api key is not secret: it is the test key)."""
        out = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}
