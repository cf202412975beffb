"""The emulator's own reading of timestamps, written apart from the tap's on purpose.

The tap's completeness tests compare what the tap delivers with what the emulator holds; if
both sides shared one parser, a parsing mistake would sit on both sides and no test could see
it. So the emulator reads dates its own way: a regular expression for the ISO 8601 shapes the
API uses and plain arithmetic for epoch numbers.
"""

from __future__ import annotations

import calendar
import re

_US_PER_SECOND = 1_000_000
#: How finely the index reads a date (``date_precision``), in µs: an Elasticsearch ``date``
#: field, as the Search API's indexes have, keeps milliseconds.
PRECISION_US: dict[str, int] = {"us": 1, "ms": 1_000, "s": _US_PER_SECOND}
#: Epoch numbers at or above this are milliseconds (1e11 s is the year 5138).
_MILLISECONDS_FROM = 100_000_000_000

_ISO = re.compile(
    r"""
    (?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})
    (?:[T\ ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?)?
    (?P<zone>[Zz]|[+-]\d{2}(?::?\d{2})?)?
    """,
    re.VERBOSE,
)
_EPOCH = re.compile(r"-?\d+(?:\.\d+)?")


def instant_us(value: object) -> int | None:
    """A timestamp spelling → integer microseconds since the epoch (UTC), None if absent.

    ISO 8601 with or without zone (none means UTC), any fraction length, a plain date, or
    epoch seconds/milliseconds as a number or digit string. Anything else is a ValueError.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        msg = f"not a timestamp: {value!r}"
        raise ValueError(msg)  # noqa: TRY004  (callers catch one error type for bad input)
    if isinstance(value, int | float):
        return _epoch_us(float(value))
    if not isinstance(value, str):
        msg = f"not a timestamp: {value!r}"
        raise ValueError(msg)  # noqa: TRY004
    text = value.strip()
    if _EPOCH.fullmatch(text):
        return _epoch_us(float(text))
    match = _ISO.fullmatch(text)
    if match is None:
        msg = f"not a timestamp: {value!r}"
        raise ValueError(msg)
    return _iso_us(match)


def _epoch_us(number: float) -> int:
    seconds = number / 1000 if abs(number) >= _MILLISECONDS_FROM else number
    return round(seconds * _US_PER_SECOND)


def _iso_us(match: re.Match[str]) -> int:
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    hour, minute, second = (int(match[name] or 0) for name in ("hour", "minute", "second"))
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
        msg = f"not a date: {match.group(0)!r}"
        raise ValueError(msg)
    if hour > 23 or minute > 59 or second > 59:
        msg = f"not a time: {match.group(0)!r}"
        raise ValueError(msg)
    fraction = int((match["fraction"] or "0")[:6].ljust(6, "0"))
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    return seconds * _US_PER_SECOND + fraction - _zone_offset_us(match["zone"])


def _zone_offset_us(zone: str | None) -> int:
    if zone is None or zone in {"Z", "z"}:
        return 0
    digits = zone[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    sign = -1 if zone[0] == "-" else 1
    return sign * minutes * 60 * _US_PER_SECOND


def half_open(
    low: int | None, high: int | None, include_low: bool, include_high: bool, unit: int
) -> tuple[int | None, int | None]:
    """A range on a date field as an index keeping ``unit`` µs reads it → [low, high) in µs.

    Stored values and bounds are both read as the unit they fall in (floored), so a value v
    is inside when ``floor(v) >= floor(low)`` (``>`` when exclusive) and ``floor(v) <
    floor(high)`` (``<=`` when inclusive); on the µs value that is the half-open range
    returned. None is an open end.
    """
    start = None if low is None else low - low % unit + (0 if include_low else unit)
    stop = None if high is None else high - high % unit + (unit if include_high else 0)
    return start, stop
