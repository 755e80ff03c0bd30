"""The run lock: a lease in the database that exactly one run holds at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from state import LockInfo, StateStore
from sync.errors import LockHeldError


@pytest.fixture
def rival(any_state_url: str, store: StateStore) -> Iterator[StateStore]:
    """A second store on the same database, as another process would open it."""
    with StateStore.open(any_state_url) as second:
        yield second


def _race(contenders: list[Callable[[], None]]) -> list[str]:
    """Run the callables at the same instant in threads; return 'won' or 'held' for each."""
    barrier = threading.Barrier(len(contenders))
    results = ["?"] * len(contenders)

    def run(index: int) -> None:
        barrier.wait()
        try:
            contenders[index]()
            results[index] = "won"
        except LockHeldError:
            results[index] = "held"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(contenders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def _holder(store: StateStore) -> LockInfo:
    holder = store.lock_holder()
    assert holder is not None
    return holder


def _owner(store: StateStore) -> str | None:
    holder = store.lock_holder()
    return None if holder is None else holder.owner


def test_acquire_records_the_holder(store: StateStore) -> None:
    """The holder and its lease are visible to ``doctor``; release frees the lock."""
    assert store.lock_holder() is None
    store.acquire_lock("host-a:101", lease_seconds=60)

    holder = store.lock_holder()
    assert holder is not None
    assert holder.owner == "host-a:101"
    assert 59 <= (holder.expires_at - holder.acquired_at).total_seconds() <= 61

    store.release_lock("host-a:101")
    assert store.lock_holder() is None


def test_a_held_lock_refuses_another_owner_after_the_wait(store: StateStore, rival: StateStore) -> None:
    """The second run waits, then gets LockHeldError naming the holder and its expiry."""
    store.acquire_lock("host-a:101")
    started = time.monotonic()

    with pytest.raises(LockHeldError) as caught:
        rival.acquire_lock("host-b:202", wait_seconds=0.25)

    assert time.monotonic() - started >= 0.25
    message = str(caught.value)
    assert "host-a:101" in message
    assert "expires" in message
    assert _owner(store) == "host-a:101"


def test_a_waiting_run_gets_the_lock_once_it_is_released(store: StateStore, rival: StateStore) -> None:
    """A lock released during the wait is taken by the waiter."""
    store.acquire_lock("host-a:101")
    timer = threading.Timer(0.15, store.release_lock, args=("host-a:101",))
    timer.start()
    try:
        rival.acquire_lock("host-b:202", wait_seconds=10)
    finally:
        timer.join()

    assert _owner(rival) == "host-b:202"


def test_an_expired_lease_is_taken_over(store: StateStore, rival: StateStore) -> None:
    """A run that died without releasing does not block the next one past its lease."""
    store.acquire_lock("host-a:101", lease_seconds=0.05)
    time.sleep(0.1)

    rival.acquire_lock("host-b:202", wait_seconds=0)

    assert _owner(store) == "host-b:202"
    with pytest.raises(LockHeldError, match="host-b:202"):
        store.renew_lock("host-a:101")


def test_renew_extends_the_lease(store: StateStore) -> None:
    """Renewing pushes the expiry out, so the lock is not taken over meanwhile."""
    store.acquire_lock("host-a:101", lease_seconds=1)
    before = _holder(store).expires_at

    store.renew_lock("host-a:101", lease_seconds=600)

    assert (_holder(store).expires_at - before).total_seconds() > 500


def test_release_by_another_owner_does_nothing(store: StateStore) -> None:
    """Only the holder can release the lock; reacquiring by the holder renews it."""
    store.acquire_lock("host-a:101")
    store.release_lock("host-b:202")
    store.acquire_lock("host-a:101", wait_seconds=0)

    assert _owner(store) == "host-a:101"


def test_renew_of_a_released_lock_fails(store: StateStore) -> None:
    """A run that lost its lock learns it when renewing."""
    store.acquire_lock("host-a:101")
    store.release_lock("host-a:101")

    with pytest.raises(LockHeldError, match="nobody holds it"):
        store.renew_lock("host-a:101")


def test_two_racers_for_a_free_lock_exactly_one_wins(store: StateStore, rival: StateStore) -> None:
    """Two stores acquiring at the same instant: one wins, the other is told it is held."""
    for round_ in range(5):
        owners = (f"a-{round_}", f"b-{round_}")
        results = _race(
            [
                lambda owner=owners[0]: store.acquire_lock(owner, wait_seconds=0),
                lambda owner=owners[1]: rival.acquire_lock(owner, wait_seconds=0),
            ]
        )
        assert sorted(results) == ["held", "won"]
        winner = owners[results.index("won")]
        assert _owner(store) == winner
        store.release_lock(winner)


def test_two_racers_for_an_expired_lease_exactly_one_wins(store: StateStore, rival: StateStore) -> None:
    """Taking over an expired lease is atomic too: never two holders."""
    for round_ in range(5):
        store.acquire_lock(f"dead-{round_}", lease_seconds=0.01)
        time.sleep(0.03)
        owners = (f"a-{round_}", f"b-{round_}")
        results = _race(
            [
                lambda owner=owners[0]: store.acquire_lock(owner, wait_seconds=0),
                lambda owner=owners[1]: rival.acquire_lock(owner, wait_seconds=0),
            ]
        )
        assert sorted(results) == ["held", "won"]
        winner = owners[results.index("won")]
        assert _owner(rival) == winner
        store.release_lock(winner)


def test_an_owner_name_is_required(store: StateStore) -> None:
    """An empty owner could never be told apart from another; it is refused."""
    with pytest.raises(ValueError, match="owner"):
        store.acquire_lock("")
