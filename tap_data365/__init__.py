"""tap-data365: a Singer tap for Datastreamer's Data365 connector."""
