"""A run that dies between a write and its record, replayed exactly: the next run gets it right.

The chaos suite kills real processes at random; these tests kill a run at one chosen
request, in-process, so each recovery path is checked every time. The "death" is a
transport in front of the sandbox that raises :class:`ProcessDied` (a BaseException,
like the SystemExit or KeyboardInterrupt of a dying process) before or after the
sandbox has handled the request.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from state.store import StateStore
from sync.sandbox import sandbox_transport
from tests.chaos.bench import Bench
from tests.chaos.harness import row


class ProcessDied(BaseException):
    """The process running the sync is gone."""


class DiesAt(httpx.AsyncBaseTransport):
    """Passes requests to the sandbox until ``when`` matches one: then dies, after it landed or before."""

    def __init__(self, bench: Bench, when: Callable[[httpx.Request], bool], *, landed: bool) -> None:
        self.inner = sandbox_transport(bench.app)
        self.when = when
        self.landed = landed

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.when(request):
            return await self.inner.handle_async_request(request)
        if self.landed:
            response = await self.inner.handle_async_request(request)
            await response.aclose()
        raise ProcessDied


def _posting(external_id: str) -> Callable[[httpx.Request], bool]:
    def match(request: httpx.Request) -> bool:
        return request.method == "POST" and f'"externalId":"{external_id}"'.encode() in request.content

    return match


def _method(method: str) -> Callable[[httpx.Request], bool]:
    return lambda request: request.method == method


def _open_intents(state_url: str) -> list[str]:
    with StateStore.open(state_url) as store:
        return [f"{i.kind} {i.external_id}" for i in store.open_intents()]


@pytest.fixture
def bench(tmp_path: Path, state_url: str) -> Bench:
    return Bench(tmp_path, state_url)


def _emails(bench: Bench, key: str) -> list[str]:
    return [e["value"] for e in bench.contacts()[key]["defaultFields"]["emails"]]


@pytest.mark.parametrize("landed", [True, False], ids=["landed", "never-sent"])
def test_a_create_cut_off_is_linked_or_sent_again(bench: Bench, landed: bool):
    """Died during K1's POST: the next run links the contact if it exists, creates it if not; once."""
    bench.write("crm", [row(n) for n in range(3)])
    with pytest.raises(ProcessDied):
        bench.run(transport=DiesAt(bench, _posting("K1"), landed=landed))
    assert _open_intents(bench.state_url) == ["create K1"]
    result = bench.run()
    assert result.exit_code == 0 and result.recovered == 1
    assert set(bench.contacts()) == {"K0", "K1", "K2"}  # asserts no duplicate externalId
    posts = [r for r in bench.state.log if r.method == "POST" and r.status == 201]
    assert len(posts) == 3
    assert _open_intents(bench.state_url) == []


def test_a_landed_create_then_an_edited_email_keeps_only_the_new_email(bench: Bench):
    """The cut-off create's contact holds the old email; the row's new email replaces it, not joins it."""
    rows = [row(n) for n in range(2)]
    bench.write("crm", rows)
    with pytest.raises(ProcessDied):
        bench.run(transport=DiesAt(bench, _posting("K1"), landed=True))
    rows[1]["Email"] = "changed1@example.com"
    bench.write("crm", rows)
    assert bench.run().exit_code == 0
    assert _emails(bench, "K1") == ["changed1@example.com"]


def test_a_landed_update_then_another_edit_keeps_only_the_newest_email(bench: Bench):
    """Died after a PATCH landed; the row changed again before the next run: only the newest email."""
    rows = [row(n) for n in range(2)]
    bench.write("crm", rows)
    bench.run()
    rows[0]["Email"] = "second0@example.com"
    bench.write("crm", rows)
    with pytest.raises(ProcessDied):
        bench.run(transport=DiesAt(bench, _method("PATCH"), landed=True))
    assert _emails(bench, "K0") == ["second0@example.com"], "the PATCH landed"
    assert _open_intents(bench.state_url) == ["update K0"]
    rows[0]["Email"] = "third0@example.com"
    bench.write("crm", rows)
    assert bench.run().exit_code == 0
    assert _emails(bench, "K0") == ["third0@example.com"]


def test_an_update_that_never_landed_is_sent_again(bench: Bench):
    """Died before the PATCH went out: the link was never marked synced; the next run patches."""
    rows = [row(n) for n in range(2)]
    bench.write("crm", rows)
    bench.run()
    rows[0]["Company"] = "Next Co"
    bench.write("crm", rows)
    with pytest.raises(ProcessDied):
        bench.run(transport=DiesAt(bench, _method("PATCH"), landed=False))
    with StateStore.open(bench.state_url) as store:
        assert store.load_links("crm")["K0"].payload["company"] == "Acme"  # type: ignore[index]
    result = bench.run()
    assert result.exit_code == 0 and result.plan.summary()["update"] == 1
    assert bench.contacts()["K0"]["defaultFields"]["company"] == "Next Co"


@pytest.mark.parametrize("landed", [True, False], ids=["landed", "never-sent"])
def test_a_delete_cut_off_is_finished_exactly_once(bench: Bench, landed: bool):
    """Died during a DELETE: the next run drops the link if the contact is gone, else deletes it."""
    rows = [row(n) for n in range(3)]
    bench.write("crm", rows)
    bench.run()
    bench.write("crm", rows[:2])
    with pytest.raises(ProcessDied):
        bench.run(transport=DiesAt(bench, _method("DELETE"), landed=landed))
    assert _open_intents(bench.state_url) == ["delete K2"]
    result = bench.run()
    assert result.exit_code == 0
    assert set(bench.contacts()) == {"K0", "K1"}
    with StateStore.open(bench.state_url) as store:
        assert set(store.load_links("crm")) == {"K0", "K1"}
        assert store.open_intents() == []


def test_death_during_the_look_up_after_an_ambiguous_create_leaves_the_intent_open(
    tmp_path: Path, state_url: str
):
    """Create answered 5xx after committing, then died during the look-up: recovery links it."""
    from sync.sandbox import SandboxSettings
    from tests.chaos.harness import API_KEY

    bench = Bench(tmp_path, state_url, settings=SandboxSettings(
        api_keys=(API_KEY,), rate_limit=1000, ambiguous_create_rate=1.0, seed=3))
    bench.write("crm", [row(1)])
    looked_up: list[int] = []

    def second_lookup(request: httpx.Request) -> bool:
        if request.method == "GET" and "externalIds=K1" in str(request.url):
            looked_up.append(1)
            return len(looked_up) == 2  # the first is the plan's adoption look-up
        return False

    with pytest.raises(ProcessDied):
        bench.run(transport=DiesAt(bench, second_lookup, landed=False))
    assert _open_intents(state_url) == ["create K1"]
    result = bench.run()
    assert result.exit_code == 0 and result.recovered == 1
    assert result.plan.summary()["unchanged"] == 1, "recovery found it holding exactly the row"
    assert len(bench.contacts()) == 1
