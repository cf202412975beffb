"""The emulator's own date reader: every spelling the API uses, and nothing that is not a date.

It is the emulator's, not the tap's (``tests/project/test_emulator_independence.py`` checks the two
share no code), so it is tested here on its own.
"""

from __future__ import annotations

import pytest

from data365_emulator.instants import instant_us


@pytest.mark.parametrize(
    ("spelling", "expected_us"),
    [
        ("2024-03-01T12:30:05.000", 1_709_296_205_000_000),
        ("2024-03-01T12:30:05Z", 1_709_296_205_000_000),
        ("2024-03-01T12:30:05.123456Z", 1_709_296_205_123_456),
        ("2024-03-01T12:30:05.123456789Z", 1_709_296_205_123_456),
        ("2024-03-01T14:30:05+02:00", 1_709_296_205_000_000),
        ("2024-03-01 12:30:05", 1_709_296_205_000_000),
        ("2024-03-01", 1_709_251_200_000_000),
        (1_709_296_205, 1_709_296_205_000_000),
        ("1709296205000", 1_709_296_205_000_000),
        ("", None),
        (None, None),
    ],
)
def test_the_emulator_reads_every_date_spelling_on_its_own(
    spelling: object, expected_us: int | None
) -> None:
    assert instant_us(spelling) == expected_us


@pytest.mark.parametrize("bad", ["last tuesday", "2024-02-30", "2024-03-01T25:00:00", True, {}])
def test_the_emulator_refuses_what_is_not_a_date(bad: object) -> None:
    with pytest.raises(ValueError, match="not a"):
        instant_us(bad)
