"""The Datastreamer API's paths and their one URL quoting, shared by the streams and setup."""

from __future__ import annotations

from urllib.parse import quote

#: The Data365 token: a data source's credentials (PUT by ``tap-data365 setup``).
TOKEN_PATH = "/api/data-sources/data365"  # noqa: S105  (a path, not a secret)
#: Connected sub-sources (GET); under it, ``/<source>`` lists and creates a source's tasks.
PROVIDER_PATH = "/api/data-providers/data365"
#: The search endpoint the posts are read from.
SEARCH_PATH = "/api/search"
#: The Count API: how many posts a query matches (sizing windows before reading them).
COUNT_PATH = "/api/count"


def source_path(source: str) -> str:
    """A sub-source's task list (GET) and task creation (POST); the name quoted."""
    return f"{PROVIDER_PATH}/{quote(source, safe='')}"


def task_path(source: str, task_id: str) -> str:
    """One task (GET, DELETE; ``/start``, ``/cancel`` below it); both parts quoted."""
    return f"{source_path(source)}/{quote(task_id, safe='')}"
