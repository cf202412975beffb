"""The Dagster code location of the Meltano project: `definitions.py` (guide:
orchestration/README.md). Every sub-source is a partition: its own `meltano run` with its own
state id."""
