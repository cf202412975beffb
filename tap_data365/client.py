"""Data365Stream: what every stream shares, its requests sent through the run's one transport.

The transport (``http/transport.py``, shared with ``tap-data365 setup``) owns the session,
the retries, the error mapping and the URL quoting; it is built once per run by the tap
with the shared rate limiter. Here: the request path of a stream, its HTTP metrics, and
records fitted to the schema.
"""

from __future__ import annotations

import functools
from typing import Any

import requests
from singer_sdk import Tap
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_data365.conform import RecordConformer
from tap_data365.http.metrics import RequestMetrics, endpoint_of
from tap_data365.http.transport import Transport
from tap_data365.sdk_hooks import FencedStream


class Data365Stream(FencedStream):
    """Base stream: settings → HTTP, shared by the sources, tasks and search streams."""

    def __init__(self, tap: Tap, transport: Transport) -> None:
        super().__init__(tap)
        #: One transport (and its limiter) for every request of the run, whichever stream
        #: or worker sends it.
        self.transport = transport

    @property
    @override
    def url_base(self) -> str:
        return self.transport.settings.url

    # ------------------------------------------------------------------ records

    @functools.cached_property
    def _conform(self) -> RecordConformer:
        return RecordConformer(self.schema)

    @override
    def post_process(self, row: dict[str, Any], context: Context | None = None) -> dict[str, Any]:
        """Fit the record to the schema, keeping every field (see conform.py).

        Targets create columns from the schema, so an undeclared field would be dropped on
        load; moved under ``extra_fields`` (of the record or of its block) it reaches the
        warehouse, and a value of the wrong type neither fails validation nor gets lost.
        """
        return self._conform(row)

    # ------------------------------------------------------------------ requests

    def request_json(self, method: str, path: str, body: Any = None, *, what: str) -> Any:
        """One API call with the transport's retries; failures become one clear line.

        ``what`` completes the sentence "… while <what>" in error messages.
        """
        payload = self.transport.request(
            method, path, what, body=body, on_answer=self._timed, on_retry=self.logger.warning
        )
        self._http_metrics.counted(endpoint_of(path))
        return payload

    def _timed(self, path: str, response: requests.Response) -> None:
        self._http_metrics.timed(endpoint_of(path), response)

    @functools.cached_property
    def _http_metrics(self) -> RequestMetrics:
        return RequestMetrics(self.name, self.metrics_logger)

    @override
    def log_sync_costs(self) -> None:
        super().log_sync_costs()
        self._http_metrics.flush()  # the SDK calls this for every stream at the end of a sync
