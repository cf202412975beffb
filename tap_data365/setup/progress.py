"""Progress of ``setup --wait``: a live line on a terminal, plain lines in a log.

On a terminal the line is rewritten in place each poll round; anywhere else (CI, Meltano's
log) a line is written only when the per-status counts change, so a long wait does not
flood the log with identical lines.
"""

from __future__ import annotations

from collections.abc import Callable


def format_elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts.items()) or "no tasks"


class Progress:
    """Receives (per-status counts, elapsed seconds) after every poll round."""

    def __init__(self, write: Callable[[str], None], *, live: bool) -> None:
        self._write = write
        self._live = live
        self._last: dict[str, int] | None = None
        self._drawn = False

    def __call__(self, counts: dict[str, int], elapsed: float) -> None:
        line = f"waiting {format_elapsed(elapsed)}: {format_counts(counts)}"
        if self._live:
            # \r + "erase line": one line that updates in place.
            self._write("\r\x1b[2K" + line)
            self._drawn = True
        elif counts != self._last:
            self._write(line + "\n")
        self._last = dict(counts)

    def close(self) -> None:
        """End the live line so the report starts on a fresh one."""
        if self._drawn:
            self._write("\n")
            self._drawn = False
