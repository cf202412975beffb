"""Point a copy of meltano.yml's tap at a local checkout instead of the git release.

    python scripts/local_meltano_yml.py PROJECT_DIR PIP_URL     # e.g. . or "-e /path/to/repo"

meltano.yml installs the tap from its git tag, which is what users copy; the demo and the
tests must install the tree they run from. Only the tap-data365 extractor's pip_url line is
rewritten; a file without that line is an error.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

#: The extractor's pip_url as meltano.yml writes it: the release tag of the one repository.
RELEASE_PIP_URL = re.compile(r"^(    pip_url: )git\+https://\S+/tap-data365\.git@v\S+$", re.M)


def localise(project: Path, pip_url: str) -> None:
    """Rewrite ``project``/meltano.yml so the tap installs from ``pip_url``."""
    path = project / "meltano.yml"
    text, count = RELEASE_PIP_URL.subn(lambda m: m.group(1) + pip_url, path.read_text())
    if count != 1:
        sys.exit(f"{path}: expected one tap-data365 release pip_url line, found {count}")
    path.write_text(text)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    localise(Path(sys.argv[1]), sys.argv[2])
