"""The account's streams: ``sources`` and ``tasks``, read once per run and shared."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any, ClassVar

from singer_sdk import StreamSchema, Tap
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_data365 import normalize
from tap_data365.errors import ConfigError, parse_answer
from tap_data365.http.paths import PROVIDER_PATH, source_path, task_path
from tap_data365.search_results.sync import in_background
from tap_data365.settings import check_connected
from tap_data365.streams.base import SCHEMAS, Data365Stream, TapRun


class AccountSources:
    """The account's connected sub-sources and their tasks, read once per run and shared.

    Requests go through the stream that asked first, so the SDK's metrics name it.
    """

    def __init__(self, tap: Tap) -> None:
        self._tap = tap
        self._tasks: dict[str, Future[list[dict[str, Any]]]] = {}

    @functools.cached_property
    def _client(self) -> Data365Stream:
        stream = self._tap.streams["sources"]
        assert isinstance(stream, Data365Stream)
        return stream

    @functools.lru_cache(maxsize=1)  # noqa: B019  (one listing per tap run)
    def records(self) -> list[dict[str, Any]]:
        """The connected sub-sources, one record each."""
        what = "listing connected sources"
        body = self._client.request_json("GET", PROVIDER_PATH, what=what)
        return parse_answer(normalize.source_records, body, what)

    def selected(self, asking: Data365Stream) -> list[str]:
        """The sub-sources to extract: the ``sources`` setting, or every connected one.

        ``asking`` reads the task lists of those sub-sources next: the first configured
        one's is read while the sources list is (a round trip less before the first search).
        """
        configured = self._client.settings.sources
        if configured:
            self._read_tasks_early(configured[0], asking)
        connected = [record["name"] for record in self.records()]
        if configured is not None:
            check_connected(list(configured), connected)
            return list(configured)
        if not connected:
            raise ConfigError(
                "no Data365 sub-source is connected to this Datastreamer account, so there is "
                "nothing to sync: connect one (see tap-data365 setup) or set sources"
            )
        return connected

    def tasks(self, source: str, asking: Data365Stream) -> list[dict[str, Any]]:
        """The source's tasks as records, with each open task's status read individually.

        The list's status lags behind the single-task status, so a task the list still
        shows as open is asked about directly (finished tasks are not asked again).
        """
        if source not in self._tasks:
            done: Future[list[dict[str, Any]]] = Future()
            done.set_result(self._read_tasks(source, asking))
            self._tasks[source] = done
        # An error of a task list read early is raised here, where it would have been read.
        return self._tasks[source].result()

    def _read_tasks_early(self, source: str, asking: Data365Stream) -> None:
        """Read ``source``'s task list in the background (each list is read once a run).

        When the sources list then fails the run (a configured sub-source that is not
        connected), nothing waits for this read, and its error is never shown.
        """
        if source in self._tasks:
            return
        self._tasks[source] = in_background(lambda: self._read_tasks(source, asking))

    def _read_tasks(self, source: str, client: Data365Stream) -> list[dict[str, Any]]:
        what = f"listing tasks of source {source}"
        body = client.request_json("GET", source_path(source), what=what)
        records = []
        for raw in parse_answer(normalize.task_list, body, what):
            record = normalize.task_record(raw, source)
            record["list_status"] = record["status"]
            status = record["status"]
            if record["id"] and not (normalize.is_done(status) or normalize.is_failed(status)):
                what = f"reading task {record['id']} of source {source}"
                body = client.request_json("GET", task_path(source, record["id"]), what=what)
                single = parse_answer(normalize.task_object, body, what)
                record["status"] = normalize.task_status(single) or status
                record["updated_at"] = normalize.task_updated_at(single) or record["updated_at"]
            records.append(record)
        return records


class _AccountStream(Data365Stream):
    """A stream reading the account's sources and tasks through the run's AccountSources."""

    def __init__(self, tap: Tap, run: TapRun, account: AccountSources) -> None:
        super().__init__(tap, run)
        self.account = account


class SourcesStream(_AccountStream):
    """One record per connected Data365 sub-source."""

    name = "sources"
    path = PROVIDER_PATH
    primary_keys: ClassVar[list[str]] = ["name"]
    schema = StreamSchema(SCHEMAS)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        yield from self.account.records()


class PerSourceStream(_AccountStream):
    """A stream with one state partition per selected sub-source."""

    context_key: ClassVar[str]

    def context_for(self, source: str) -> dict[str, str]:
        return {self.context_key: source}

    @property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        return [self.context_for(source) for source in self.account.selected(self)]


class TasksStream(PerSourceStream):
    """Collection tasks of each selected sub-source, with a normalised status."""

    name = "tasks"
    path = PROVIDER_PATH + "/{source}"
    primary_keys: ClassVar[list[str]] = ["source", "id"]
    schema = StreamSchema(SCHEMAS)
    context_key = "source"

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        assert context is not None
        yield from self.account.tasks(context["source"], self)
