"""Reading the settings: ``--config FILE|ENV`` (repeatable), merged left to right.

Read by every sync (``cli.precheck``, before the SDK reads them, so that a bad file is one
line) and by ``tap-data365 setup`` (``load_settings``: every setting checked, one Settings).
``ENV`` reads ``TAP_DATA365_<SETTING>`` variables the way the SDK does (arrays and objects as
JSON, integers and numbers converted), which is what Meltano exports to a plugin command.
The setup command does not build the Tap object: it needs only the settings, and it must fail
on bad settings before anything, including stream discovery, runs.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tap_data365 import stderr_mask
from tap_data365.errors import ConfigError
from tap_data365.settings.checks import check_settings, settings_warnings
from tap_data365.settings.declaration import CONFIG_SCHEMA
from tap_data365.settings.model import Settings

ENV_PREFIX = "TAP_DATA365_"
SECRET_SETTINGS = tuple(
    name for name, schema in CONFIG_SCHEMA["properties"].items() if schema.get("secret")
)
TRUTHY = ("true", "1", "yes", "on")


def load_settings(sources: Sequence[str], environ: Mapping[str, str] | None = None) -> Settings:
    """Merge the ``--config`` sources and check every setting but ``tasks``."""
    if not sources:
        raise ConfigError("--config is required: a JSON settings file, or ENV for environment")
    merged = read_configs(sources, environ)
    warn_settings(merged, "tap-data365 setup")
    check_settings(merged, skip_tasks=True)  # tasks: every problem, by specs.py
    return Settings.from_config(merged)


def read_configs(
    sources: Sequence[str], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The ``--config`` sources merged left to right, as given (no defaults, no checks).

    The secrets found are registered with the mask before anything can print them.
    """
    merged: dict[str, Any] = {}
    for source in sources:
        part = (
            env_config(os.environ if environ is None else environ)
            if source == "ENV"
            else (file_config(Path(source)))
        )
        merged.update(part)
    stderr_mask.register(*(merged.get(name) for name in SECRET_SETTINGS))
    return merged


def warn_settings(config: Mapping[str, Any], prog: str) -> None:
    """Print one warning line per doubtful setting (misspelt name, future start_date)."""
    for warning in settings_warnings(config):
        print(f"{prog}: warning: {warning}", file=sys.stderr)


def file_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"config file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a JSON object of settings")
    return data


def env_config(environ: Mapping[str, str]) -> dict[str, Any]:
    """``TAP_DATA365_<SETTING>`` variables, converted by each setting's JSON Schema type."""
    result: dict[str, Any] = {}
    for name, schema in CONFIG_SCHEMA["properties"].items():
        var = ENV_PREFIX + name.upper().replace("-", "_")
        if var in environ:
            result[name] = _convert(var, environ[var], _types(schema), schema)
    return result


def _types(schema: Mapping[str, Any]) -> set[str]:
    declared = schema.get("type", [])
    return {declared} if isinstance(declared, str) else set(declared)


def _convert(var: str, raw: str, types: set[str], schema: Mapping[str, Any]) -> Any:
    # Messages name the variable, never its value: it may be the key or the token.
    if "integer" in types:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"environment variable {var} must be an integer") from None
    if "number" in types:
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"environment variable {var} must be a number") from None
    if "boolean" in types:
        return raw.strip().lower() in TRUTHY
    if "array" in types or "object" in types:
        try:
            return json.loads(raw)
        except ValueError as exc:
            items = _types(schema.get("items", {}))
            if "array" in types and items == {"string"}:
                # The SDK's older 'a,b,c' form for string arrays, still accepted there.
                return [part.strip() for part in raw.split(",") if part.strip()]
            raise ConfigError(f"environment variable {var} is not valid JSON: {exc}") from None
    return raw
