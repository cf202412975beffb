"""The Dagster code location of the Meltano project: `definitions.py` (guide:
orchestration/README.md). Every sub-source is a step: its own `meltano run` and state id."""
