"""Benchmarks of openphone-sync: ``python bench/run.py`` writes ``bench/RESULTS.md``.

See ``bench/README.md`` for the scenarios, their references and targets.
"""

from __future__ import annotations
