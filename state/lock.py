"""The run lock: a lease row in ``state_locks``, held until it expires or is released.

It is the database's own locking, so it works wherever the store lives (two containers on
one PostgreSQL, two processes on one SQLite file). Taking it is one of two atomic
statements, never a read followed by a write:

1. ``UPDATE ... WHERE name = :name AND (expires_at < :now OR owner = :owner)``: take over
   an expired lease (or renew our own). Two racers both wanting an expired lease are
   serialized by the row lock; the second finds the new expiry and updates nothing.
2. Else ``INSERT``: the primary key lets exactly one racer in; the others get a conflict,
   which means "held".

Times come from this machine's clock (UTC). Hosts sharing a store should keep their
clocks in sync; the default lease of ten minutes dwarfs any ordinary skew.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Final

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from state._db import Database
from state.models import locks, utc_now
from state.records import LockInfo
from sync.errors import LockHeldError

RUN_LOCK: Final = "sync"
POLL_SECONDS: Final = 0.1
MAX_OWNER_LENGTH: Final = 255


def acquire(
    db: Database,
    owner: str,
    *,
    wait_seconds: float,
    lease_seconds: float,
    name: str = RUN_LOCK,
) -> None:
    """Take the lock for ``owner``, waiting up to ``wait_seconds`` for the holder to let go.

    Raises:
        LockHeldError: someone else still held it when the wait ran out.
    """
    _check_owner(owner)
    deadline = time.monotonic() + max(wait_seconds, 0.0)
    while not _try_take(db, name, owner, lease_seconds):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            current = holder(db, name)
            held = current.describe() if current else "held by another run"
            raise LockHeldError(
                f"another run holds the lock of state store {db.url_for_display}: {held} "
                f"(waited {wait_seconds:g} s)"
            )
        time.sleep(min(POLL_SECONDS, remaining))


def renew(db: Database, owner: str, *, lease_seconds: float, name: str = RUN_LOCK) -> None:
    """Extend ``owner``'s lease to ``lease_seconds`` from now.

    Raises:
        LockHeldError: ``owner`` no longer holds the lock (its lease ran out and another
            run took it over, or it was released).
    """
    now = utc_now()
    with db.write("renew the lock") as connection:
        renewed = connection.execute(
            update(locks)
            .where(locks.c.name == name, locks.c.owner == owner)
            .values(expires_at=now + timedelta(seconds=lease_seconds))
        ).rowcount
    if renewed == 0:
        current = holder(db, name)
        now_held = current.describe() if current else "nobody holds it"
        raise LockHeldError(f"the state store's lock is no longer {owner!r}'s: {now_held}")


def release(db: Database, owner: str, *, name: str = RUN_LOCK) -> None:
    """Let go of the lock if ``owner`` holds it; otherwise do nothing."""
    with db.write("release the lock") as connection:
        connection.execute(delete(locks).where(locks.c.name == name, locks.c.owner == owner))


def holder(db: Database, name: str = RUN_LOCK) -> LockInfo | None:
    """Who holds the lock (maybe with an expired lease), or ``None`` when it is free."""
    with db.read("read the lock") as connection:
        row = connection.execute(select(locks).where(locks.c.name == name)).first()
    if row is None:
        return None
    return LockInfo(name=row.name, owner=row.owner, acquired_at=row.acquired_at, expires_at=row.expires_at)


def _try_take(db: Database, name: str, owner: str, lease_seconds: float) -> bool:
    now = utc_now()
    values = {
        "owner": owner,
        "acquired_at": now,
        "expires_at": now + timedelta(seconds=lease_seconds),
    }
    with db.write("take the lock") as connection:
        taken = connection.execute(
            update(locks)
            .where(locks.c.name == name, or_(locks.c.expires_at < now, locks.c.owner == owner))
            .values(**values)
        ).rowcount
    if taken:
        return True
    with db.translated("take the lock"):
        try:
            with db.engine.begin() as connection:
                connection.execute(insert(locks).values(name=name, **values))
        except IntegrityError:
            return False  # the primary key says: someone else holds it
    return True


def _check_owner(owner: str) -> None:
    if not owner or len(owner) > MAX_OWNER_LENGTH:
        raise ValueError(f"lock owner must be 1 to {MAX_OWNER_LENGTH} characters, got {owner!r}")
