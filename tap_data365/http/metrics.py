"""The SDK's HTTP metrics for the requests the tap sends itself.

``RESTStream`` logs ``http_request_duration`` (per attempt, with the status) and
``http_request_count`` (per answered request) only for requests that go through its own
``request_records``; the tap sends its requests through ``Data365Stream.request_json``, so
it emits the same METRIC lines here, with the same tags, for Meltano users to read as they
would for any SDK tap.
"""

from __future__ import annotations

import logging
import threading
from http import HTTPStatus

from singer_sdk import metrics

from tap_data365.http.body import Answer
from tap_data365.http.paths import PROVIDER_PATH


def endpoint_of(path: str) -> str:
    """The path with its variable parts as placeholders, as the SDK's ``Stream.path`` reads.

    One endpoint per kind of request, not per task: the task id would make every metric
    line its own series.
    """
    path = path.split("?", 1)[0]
    if not path.startswith(PROVIDER_PATH + "/"):
        return path
    depth = len(path[len(PROVIDER_PATH) + 1 :].rstrip("/").split("/"))
    return PROVIDER_PATH + ("/{source}" if depth == 1 else "/{source}/{task_id}")


class RequestMetrics:
    """Durations logged as they happen; counts per endpoint, logged every minute and at the end."""

    def __init__(self, stream: str, logger: logging.Logger) -> None:
        self._stream = stream
        self._logger = logger
        self._lock = threading.Lock()
        self._counters: dict[str, metrics.Counter] = {}

    def timed(self, endpoint: str, response: Answer) -> None:
        """One ``http_request_duration`` point for an attempt that got an answer."""
        status = response.status_code
        point = metrics.Point(
            "timer",
            metric=metrics.Metric.HTTP_REQUEST_DURATION,
            value=response.elapsed.total_seconds(),
            tags={
                metrics.Tag.STREAM: self._stream,
                metrics.Tag.ENDPOINT: endpoint,
                metrics.Tag.HTTP_STATUS_CODE: status,
                metrics.Tag.STATUS: (
                    metrics.Status.SUCCEEDED
                    if status < HTTPStatus.BAD_REQUEST
                    else metrics.Status.FAILED
                ),
            },
        )
        metrics.log(self._logger, point)

    def counted(self, endpoint: str) -> None:
        """One more answered request (after retries) for ``http_request_count``."""
        with self._lock:
            counter = self._counters.get(endpoint)
            if counter is None:
                counter = metrics.http_request_counter(self._stream, endpoint=endpoint)
                self._counters[endpoint] = counter
            counter.increment()

    def flush(self) -> None:
        """Log the counts not logged yet (the SDK does this when a stream's pages end)."""
        with self._lock:
            counters, self._counters = self._counters, {}
        for counter in counters.values():
            counter.exit()
