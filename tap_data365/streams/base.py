"""What every stream shares: the run's resources, the schemas, requests and records.

The transport (``http/transport.py``, shared with ``tap-data365 setup``) owns the session,
the retries, the error mapping and the URL quoting; ``TapRun`` builds it once per run, with
the shared rate limiter, when the first request needs it: discovery and ``--about`` build
nothing, so they need no credentials.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from singer_sdk import SchemaDirectory, Tap
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_data365.http.body import Answer
from tap_data365.http.metrics import RequestMetrics, endpoint_of
from tap_data365.http.ratelimit import START_LIMIT, AdaptiveLimiter
from tap_data365.http.transport import Transport
from tap_data365.sdk_hooks import FencedStream
from tap_data365.settings import Settings
from tap_data365.streams.conform import RecordConformer


def _schema_dir() -> Any:
    """The top-level schemas/ folder: inside the wheel, or beside the package in a checkout."""
    packaged = resources.files("tap_data365").joinpath("schemas")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"


SCHEMAS = SchemaDirectory(_schema_dir())


class TapRun:
    """The settings, limiter and transport of one tap run, each built when first needed."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._config = config

    @functools.cached_property
    def settings(self) -> Settings:
        return Settings.from_config(self._config)

    @functools.cached_property
    def limiter(self) -> AdaptiveLimiter:
        """One limiter for every request of the run, whichever stream or worker sends it."""
        api = self.settings.api
        return AdaptiveLimiter(
            api.max_concurrency,
            max_requests_per_second=api.max_requests_per_second,
            max_pause=api.max_retry_wait,
            start=START_LIMIT,
        )

    @functools.cached_property
    def transport(self) -> Transport:
        """Every stream's requests, through the one limiter."""
        return Transport(self.settings.api, limiter=self.limiter)


class Data365Stream(FencedStream):
    """Base stream: settings → HTTP, shared by the sources, tasks and search streams."""

    def __init__(self, tap: Tap, run: TapRun) -> None:
        super().__init__(tap)
        self.run = run

    @property
    def settings(self) -> Settings:
        return self.run.settings

    @property
    @override
    def url_base(self) -> str:
        return self.settings.api.url

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
        payload = self.run.transport.request(
            method, path, what, body=body, on_answer=self._timed, on_retry=self.logger.warning
        )
        self._http_metrics.counted(endpoint_of(path))
        return payload

    def _timed(self, path: str, response: Answer) -> None:
        self._http_metrics.timed(endpoint_of(path), response)

    @functools.cached_property
    def _http_metrics(self) -> RequestMetrics:
        return RequestMetrics(self.name, self.metrics_logger)

    @override
    def log_sync_costs(self) -> None:
        super().log_sync_costs()
        self._http_metrics.flush()  # the SDK calls this for every stream at the end of a sync
