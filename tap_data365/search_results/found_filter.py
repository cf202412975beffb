"""Does the server filter on the discovery date? Checked cheaply at every sync, never assumed.

Datastreamer documents ``content.found`` ("when discovered") as a field of every post, but
not that ``/api/search`` can filter on it. A server that ignores the clause would make the
discovery sweep re-read everything; one that matches nothing on it would lose late posts
silently. Three one-page queries tell them apart from a server that honours it.
"""

from __future__ import annotations

import datetime as dt

from tap_data365.search_results.inflight import PageFetcher
from tap_data365.search_results.ranges import FOUND, Window, combine_query

#: Posts compared between "the query" and "the query, found at any time".
PROBE_SIZE = 10
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_FUTURE = dt.timedelta(days=1)


def found_filter_problem(fetch: PageFetcher, base_query: str, now: dt.datetime) -> str | None:
    """None when ``content.found`` ranges are honoured, else what the server got wrong."""
    future = Window(now + _FUTURE, None, FOUND)
    ahead = fetch(combine_query(base_query, future), 0, 1)
    if any(post.found is None or future.outside(post) for post in ahead):
        return "a content.found range wholly in the future matched posts found before it"
    everything = fetch(base_query, 0, PROBE_SIZE)
    if everything:
        all_time = fetch(combine_query(base_query, Window(_EPOCH, None, FOUND)), 0, PROBE_SIZE)
        if len(all_time) != len(everything):
            return (
                f"a content.found range over all time matched {len(all_time)} of the first "
                f"{len(everything)} posts the query matches"
            )
    return None
