"""The tap's settings: declared once, checked once, read once into a frozen ``Settings``.

``declaration.py`` is the JSON Schema (the tap's ``config_jsonschema``, with every default);
``checks.py`` the rules it cannot say; ``reading.py`` the ``--config`` files and
``TAP_DATA365_*`` variables; ``model.py`` the typed object every other module reads.
"""

from tap_data365.settings.checks import check_connected, check_settings
from tap_data365.settings.declaration import CONFIG_SCHEMA
from tap_data365.settings.model import ApiSettings, Settings
from tap_data365.settings.reading import load_settings, read_configs, warn_settings

__all__ = [
    "CONFIG_SCHEMA",
    "ApiSettings",
    "Settings",
    "check_connected",
    "check_settings",
    "load_settings",
    "read_configs",
    "warn_settings",
]
