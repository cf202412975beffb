"""tap-data365: a Singer tap for Datastreamer's Data365 connector."""

#: The release: the one place it is written (pyproject.toml reads it; see CHANGELOG.md).
__version__ = "0.4.0"
