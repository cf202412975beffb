"""The tap's tests, by layer, mirroring the package: settings/, http/, streams/,
search_results/, setup/, then pipelines/ and orchestration/ (real Meltano runs) and project/
(docs, release, packaging, the import graph). helpers/ holds the shared helpers (no tests);
conftest.py the one set of fixtures."""
