"""The Datastreamer API's paths, shared by the tap's streams and the setup command."""

from __future__ import annotations

#: The Data365 token: a data source's credentials (PUT by ``tap-data365 setup``).
TOKEN_PATH = "/api/data-sources/data365"  # noqa: S105  (a path, not a secret)
#: Connected sub-sources (GET); under it, ``/<source>`` lists and creates a source's tasks.
PROVIDER_PATH = "/api/data-providers/data365"
#: The search endpoint the posts are read from.
SEARCH_PATH = "/api/search"
#: The Count API: how many posts a query matches (sizing windows before reading them).
COUNT_PATH = "/api/count"
