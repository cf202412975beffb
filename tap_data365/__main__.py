"""Run the tap with ``python -m tap_data365``."""

from tap_data365.cli import main

main()
