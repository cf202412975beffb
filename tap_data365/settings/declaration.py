"""The tap's settings, declared once: ``CONFIG_SCHEMA`` is the tap's ``config_jsonschema``.

``meltano.yml``, the Hub definition and the README table are kept in agreement with it by a
test; the rules JSON Schema cannot say live in ``checks.py``.
"""

from __future__ import annotations

from typing import Any

from singer_sdk import typing as th

DEFAULT_API_URL = "https://api.platform.datastreamer.io"
MAX_PAGE_SIZE = 100

TASK_SCHEMA = th.ObjectType(
    th.Property("source", th.StringType, required=True, description="Data365 sub-source"),
    th.Property("value", th.StringType, required=True, description="Keyword, profile, hashtag…"),
    th.Property("from_date", th.DateType, required=True, description="First day (yyyy-mm-dd)"),
    th.Property("to_date", th.DateType, required=True, description="Last day (yyyy-mm-dd)"),
    th.Property(
        "update_interval", th.IntegerType, description="Repeat interval; omit for one-shot"
    ),
    th.Property("parameters", th.ObjectType(), description="Extra upstream Data365 parameters"),
    additional_properties=False,
)

CONFIG_SCHEMA: dict[str, Any] = th.PropertiesList(
    th.Property(
        "api_key",
        th.StringType,
        required=True,
        secret=True,
        title="API key",
        description="Datastreamer API key, sent as the `apikey` header.",
    ),
    th.Property(
        "api_url",
        th.StringType,
        default=DEFAULT_API_URL,
        title="API URL",
        description="Base URL of the Datastreamer API. Plain http:// only for loopback hosts.",
    ),
    th.Property(
        "sources",
        th.ArrayType(th.StringType),
        title="Sources",
        description="Data365 sub-sources to extract, e.g. `twitter_keywords`. "
        "Default: every connected sub-source.",
    ),
    th.Property(
        "start_date",
        th.DateTimeType,
        title="Start date",
        description="Lower bound on `doc_date` for the first sync. Default: everything.",
    ),
    th.Property(
        "end_date",
        th.DateTimeType,
        title="End date",
        description="Exclusive upper bound on `doc_date`: a backfill of [start_date, "
        "end_date) with an empty state delivers exactly the posts dated in it. The bookmark "
        "never moves past what the run read. Default: no bound.",
    ),
    th.Property(
        "search_query",
        th.StringType,
        default="*",
        title="Search query",
        description="Lucene query applied inside each source's index.",
    ),
    th.Property(
        "tasks",
        th.ArrayType(TASK_SCHEMA),
        default=[],
        title="Collection tasks",
        description="Declared collection tasks, created and started by `tap-data365 setup`.",
    ),
    th.Property(
        "data365_token",
        th.StringType,
        secret=True,
        title="Data365 token",
        description="Data365 access token that `tap-data365 setup` registers with Datastreamer.",
    ),
    th.Property(
        "page_size",
        th.IntegerType,
        default=MAX_PAGE_SIZE,
        title="Page size",
        description="Search results per request (1-100).",
    ),
    th.Property(
        "lookback_minutes",
        th.IntegerType,
        default=60,
        title="Lookback (minutes)",
        description="Without a working discovery sweep (the fallback when the API does not filter "
        "on content.found), each incremental sync re-reads this many minutes of "
        "doc_date before the bookmark, for posts indexed out of order; with one, "
        "those posts come through the discovery sweep and the doc_date sweep starts "
        "at the bookmark. Posts already delivered are skipped, not emitted again.",
    ),
    th.Property(
        "discovery_lookback_minutes",
        th.IntegerType,
        default=10,
        title="Discovery lookback (minutes)",
        description="Each incremental sync's discovery sweep re-reads the posts found "
        "(content.found) this many minutes before the newest discovery date "
        "delivered, for the indexing delay between a post's discovery and the moment "
        "it becomes searchable. Posts already delivered are skipped, not emitted "
        "again. When the tap measures posts becoming searchable later than half of it, it "
        "reads further back (twice the delay, at most 24 h) and warns.",
    ),
    th.Property(
        "boundary_zone_max_posts",
        th.IntegerType,
        default=50_000,
        title="Boundary zone ceiling (posts)",
        description="The most posts a sub-source's state remembers as delivered in the boundary "
        "zone (what the next sync reads again; ~11 bytes of state each). Beyond it "
        "the posts that leave the zone soonest are forgotten with one warning, and "
        "are emitted again if read again (never lost).",
    ),
    th.Property(
        "max_concurrency",
        th.IntegerType,
        default=8,
        title="Concurrent requests",
        description="Search requests in flight at once, over windows and pages (1-16); "
        "records still come out in date order.",
    ),
    th.Property(
        "request_timeout",
        th.IntegerType,
        default=60,
        title="Request timeout (seconds)",
        description="Timeout for one HTTP request, the whole answer included (a body still "
        "arriving after it is a timeout); a request is tried at most 3 times when it times out.",
    ),
    th.Property(
        "max_retries",
        th.IntegerType,
        default=8,
        title="Retries",
        description="Retries of a request after 429, 5xx or a dropped connection, with "
        "exponential backoff (each wait at most 30 s), jitter and `Retry-After`. A refused "
        "connection or an unknown host before the API has answered once in a run is not "
        "retried.",
    ),
    th.Property(
        "max_retry_wait",
        th.IntegerType,
        default=120,
        title="Longest retry wait (seconds)",
        description="The longest `Retry-After` the tap and `setup` accept; an API asking to "
        "wait longer stops the run at once with one line naming the wait it asked for.",
    ),
    th.Property(
        "max_requests_per_second",
        th.IntegerType,
        title="Requests per second",
        description="Start at most this many API requests per second (all streams and workers "
        "together). Default: no fixed rate; a 429 slows every worker down anyway.",
    ),
).to_dict()

#: Settings the Singer SDK adds to every tap (BATCH, stream maps, flattening).
SDK_SETTINGS = (
    "batch_config",
    "faker_config",
    "flattening_enabled",
    "flattening_max_depth",
    "flattening_max_key_length",
    "flattening_separator",
    "stream_map_config",
    "stream_maps",
)
