"""``python -m sync``: the same as the ``sync`` command."""

from __future__ import annotations

from sync.cli import main

main()
