"""What a tap run wrote: RECORD messages, distinct ids, STATE messages, the final STATE's size.

    python bench/outputs.py OUTPUT.jsonl

Prints the four numbers as a JSON list. bench/run.py runs it as a child, so the ids it
holds never weigh on the benchmark's own process (whose memory its children's peak RSS
would count).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    ids: set[str] = set()
    records = states = 0
    state = ""
    with Path(sys.argv[1]).open(encoding="utf-8") as output:
        for line in output:
            if line.startswith('{"type":"RECORD"'):
                records += 1
                ids.add(json.loads(line)["record"]["id"])
            elif '"STATE"' in line[:30]:
                states += 1
                state = json.dumps(json.loads(line)["value"])
    print(json.dumps([records, len(ids), states, len(state)]))


if __name__ == "__main__":
    main()
