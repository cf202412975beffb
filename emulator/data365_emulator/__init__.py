"""A local Datastreamer API for offline tests, demos and benchmarks.

Real HTTP on 127.0.0.1, seeded posts, the Data365 task lifecycle, a Lucene subset, the
documented search limits, and switches for every undocumented response shape and for faults.

Python::

    with Emulator(EmulatorConfig(api_key="test-key")) as emu:
        emu.url; emu.requests; emu.configure(fail_next=["429"]); emu.finish_running_tasks()

Command line: ``data365-emulator --port 8765`` or ``python -m data365_emulator`` (``--help``
lists the flags); prints ``emulator listening on http://127.0.0.1:PORT`` once ready, exits 0
on SIGTERM/SIGINT.

Control plane (no apikey, never faulted or logged): ``GET /_emulator/health``,
``GET|DELETE /_emulator/requests``, ``GET|POST /_emulator/config``,
``POST /_emulator/finish-running-tasks``, ``POST /_emulator/tasks`` (same fields as
``Emulator.add_task``), ``POST /_emulator/posts`` (``source``, ``count``, ``from_date``,
``to_date``: posts without a task, as ``Emulator.add_posts``),
``GET /_emulator/post-count/<source>``, ``POST /_emulator/arrivals`` (``count``, ``source``,
``shares``: a burst found now, as ``Emulator.add_arrivals``), ``GET /_emulator/arrivals``.

Live arrivals (``live_rate``, ``live_shares``, ``live_sources``; ``live.py``): posts found
continuously while the emulator runs, fresh / late / very late, timed by the ``clock`` given
to ``Emulator`` (``time.time`` by default; tests pass their own and move it).

``content.found`` is the collection time: a finished task's posts carry the finish time, a
re-run of a finished task adds ``rerun_posts`` newly found posts. ``found_ranges``
("honour", "ignore", "match_none") and ``doc_date_ranges`` ("honour", "ignore") model servers
that do not filter on those ranges.

Choices where the API is silent (each documented where it is implemented):
- Lucene: juxtaposed terms are ANDed (``lucene.py``); bare terms match content.body,
  content.title, content.hashtags, author.handle, author.name (``posts.DEFAULT_FIELDS``).
- List lag: the task list shows a task's status from before its latest transition until
  the task is read individually once more (``tasks.py``).
- Search: "relevance" order is a stable per-query permutation; ``search_after`` implies a
  doc_date order; a response carries ``search_after`` (epoch ms of the last hit) when
  ``include_search_after``; ``total`` only with ``include_total``.
- Seeded data is built when first searched (or by ``indexes.warm()``) and fixed at start:
  changing ``seed_posts``/``scale``/``empty`` at runtime does not rebuild it.
"""

from data365_emulator.app import Emulator
from data365_emulator.config import EmulatorConfig
from data365_emulator.requestlog import LoggedRequest

#: Released with the tap under the same tag; tests/project/test_release.py checks the two agree.
__version__ = "0.4.0"

__all__ = ["Emulator", "EmulatorConfig", "LoggedRequest", "__version__"]
