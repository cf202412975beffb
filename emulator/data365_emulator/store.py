"""The search indexes: one per known source, seeded lazily, grown by finished tasks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from data365_emulator.posts import Index, Post
from data365_emulator.seed import dated_posts, seeded_posts, task_posts
from data365_emulator.sources import INDEX_PREFIX, SOURCES
from data365_emulator.variants import with_odd_values


class Indexes:
    """``data365_<source>`` → Index. Seeded ones are built on first use (25k posts ~1 s)."""

    def __init__(
        self, seed: int, seed_counts: Mapping[str, int], *, odd_values: bool = False
    ) -> None:
        self.seed = seed
        self._odd_values = odd_values
        self._seed_counts = dict(seed_counts)
        self._indexes: dict[str, Index] = {}
        self._lock = threading.Lock()
        #: Bumped whenever posts are added: cached search results keyed on it go stale.
        self.version = 0
        self._batches = 0  # numbers the batches of posts added without a task

    @staticmethod
    def index_name(source: str) -> str:
        return INDEX_PREFIX + source

    @staticmethod
    def source_of(index_name: str) -> str | None:
        """The short source of a ``data365_<source>`` name, None when not a known index."""
        source = index_name.removeprefix(INDEX_PREFIX)
        if index_name.startswith(INDEX_PREFIX) and source in SOURCES:
            return source
        return None

    def get(self, source: str) -> Index:
        index = self._indexes.get(source)
        if index is not None:
            return index
        with self._lock:  # one builder per index even when several requests race
            index = self._indexes.get(source)
            if index is None:
                count = self._seed_counts.get(source, 0)
                posts = seeded_posts(self.seed, source, count) if count else ()
                if self._odd_values:
                    posts = tuple(with_odd_values(posts))
                index = Index(self.index_name(source), posts)
                self._indexes[source] = index
        return index

    def warm(self) -> None:
        """Build every seeded index now (the CLI does this before announcing readiness)."""
        for source in self._seed_counts:
            self.get(source)

    def count(self, source: str) -> int:
        return len(self.get(source))

    def add_task_posts(
        self, source: str, task: dict[str, Any], run: int, count: int, found: str
    ) -> int:
        """Make a finished task's posts searchable; returns how many were added."""

        def build(first_seq: int) -> list[Post]:
            return task_posts(
                self.seed, source, task, run=run, first_seq=first_seq, count=count, found=found
            )

        return len(self.add_generated(source, count, build))

    def add_generated(
        self, source: str, count: int, build: Callable[[int], list[Post]]
    ) -> list[Post]:
        """Number ``count`` new posts from the index's next sequence number, build them with
        ``build(first_seq)`` and make them searchable."""
        if count <= 0:
            return []
        index = self.get(source)
        with index.lock:
            first_seq = index.next_seq
            index.next_seq += count
        posts = build(first_seq)
        index.add(posts)
        with self._lock:
            self.version += 1
        return posts

    def add_untasked_posts(
        self, source: str, count: int, from_date: str, to_date: str, found: str
    ) -> int:
        """Posts that appear without a task: ``content.found_by`` is null."""
        with self._lock:
            self._batches += 1
            batch = self._batches
        pseudo = {"id": None, "value": "untasked", "from_date": from_date, "to_date": to_date}
        return self.add_task_posts(source, pseudo, batch, count, found)

    def add_dated_posts(self, source: str, doc_dates: list[str], found: str) -> list[Post]:
        """Posts dated exactly ``doc_dates``, found at ``found``, without a task."""

        def build(first_seq: int) -> list[Post]:
            return dated_posts(
                self.seed, source, first_seq=first_seq, doc_dates=doc_dates, found=found
            )

        return self.add_generated(source, len(doc_dates), build)
