"""The state store of openphone-sync: links, the crash journal, runs, the run lock.

Open it with :meth:`StateStore.open` on any SQLAlchemy URL (SQLite by default,
PostgreSQL or MySQL/MariaDB for a store shared between machines).
"""

from __future__ import annotations

from state.migrations import MIGRATIONS, STATE_FORMAT_VERSION
from state.records import Intent, Link, LockInfo, RunRecord
from state.store import StateStore

__all__ = [
    "MIGRATIONS",
    "STATE_FORMAT_VERSION",
    "Intent",
    "Link",
    "LockInfo",
    "RunRecord",
    "StateStore",
]
