"""The Dagster code location of the Meltano project: `definitions.py` (README, "Scale-out on
Dagster"). Every sub-source is a step: its own `meltano run` with its own state id."""
