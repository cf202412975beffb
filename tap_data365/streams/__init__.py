"""The tap's three streams, over the run's shared resources (``TapRun``)."""

from tap_data365.streams.account import AccountSources, SourcesStream, TasksStream
from tap_data365.streams.base import Data365Stream, TapRun
from tap_data365.streams.search import SearchResultsStream

__all__ = [
    "AccountSources",
    "Data365Stream",
    "SearchResultsStream",
    "SourcesStream",
    "TapRun",
    "TasksStream",
]
