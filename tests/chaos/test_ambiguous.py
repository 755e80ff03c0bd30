"""Creates of unknown outcome are settled by looking the contact up, never by a blind retry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from state.store import StateStore
from sync.merge import create_body
from sync.plan import Plan
from sync.sandbox import SandboxSettings
from tests.helpers import API_KEY, World, contact_row


def _world(tmp_path: Path, state_url: str, **faults: Any) -> World:
    settings = SandboxSettings(api_keys=(API_KEY,), rate_limit=1000, seed=11, **faults)
    return World(tmp_path, state_url, sandbox=settings)


def _posts(world: World) -> list[Any]:
    return [r for r in world.requests("POST") if r.path == "/v1/contacts"]


def test_every_create_committed_then_failed_still_gives_each_contact_once(tmp_path: Path, state_url: str):
    """ambiguous_create_rate=1.0: one POST per row, each found by look-up and linked, nothing failed."""
    world = _world(tmp_path, state_url, ambiguous_create_rate=1.0)
    world.write_rows([contact_row(n) for n in range(25)])
    result = world.run()
    assert result.exit_code == 0, result.to_dict()["failed"]
    assert len(world.by_external_id()) == 25  # asserts no duplicate externalId
    assert len(_posts(world)) == 25, "no create was sent twice"
    assert all(r.fault == "ambiguous_create" for r in _posts(world))
    assert world.requests("PATCH") == [], "a contact holding what we sent needs no PATCH"
    with StateStore.open(state_url) as store:
        links = store.load_links("crm")
        assert {k: link.contact_id for k, link in links.items()} == {
            k: c["id"] for k, c in world.by_external_id().items()
        }
        assert {link.status for link in links.values()} == {"synced"}
        assert store.open_intents() == []
    world.clear_log()
    again = world.run()
    assert again.plan.summary()["unchanged"] == 25 and world.writes() == 0


def test_a_create_that_really_failed_is_sent_again_after_the_look_up(tmp_path: Path, state_url: str):
    """5xx without a commit (fail_rate) on creates: looked up, not found, sent again; all exist once."""
    world = _world(tmp_path, state_url, fail_rate=0.3)
    world.write_rows([contact_row(n) for n in range(30)])
    result = world.run()
    assert result.exit_code == 0, result.to_dict()["failed"]
    assert len(world.by_external_id()) == 30
    refused = [r for r in _posts(world) if r.status is not None and r.status >= 500]
    assert refused, "the seed injects some 5xx on creates"
    assert len(_posts(world)) == 30 + len(refused)


def test_a_409_from_a_contact_created_meanwhile_is_adopted_not_duplicated(tmp_path: Path, state_url: str):
    """A contact with our externalId appears after planning: the create gets 409 and adopts it."""
    world = _world(tmp_path, state_url)
    rows = [contact_row(n) for n in range(3)]
    world.write_rows(rows)

    def someone_creates_k1(plan: Plan) -> None:
        op = next(op for op in plan.ops() if op.external_id == "K1")
        assert op.contact is not None
        body = create_body(op.contact, "crm")
        body["defaultFields"]["company"] = "Older Co"
        world.state.contacts.create(body)  # the sandbox's own create: validated, indexed

    result = world.run(on_planned=someone_creates_k1)
    assert result.exit_code == 0, result.to_dict()["failed"]
    assert [r.status for r in _posts(world)].count(409) == 1
    k1 = world.by_external_id()["K1"]
    assert k1["defaultFields"]["company"] == "Acme", "adopted and brought up to date"
    assert len(world.contacts()) == 3
    with StateStore.open(state_url) as store:
        assert store.load_links("crm")["K1"].contact_id == k1["id"]


@pytest.mark.parametrize("fault", ["ambiguous_create_rate", "reset_rate"])
def test_the_create_journal_is_closed_whatever_the_fault(tmp_path: Path, state_url: str, fault: str):
    """After a run with every create ambiguous or every connection cut, no intent is left open."""
    world = _world(tmp_path, state_url, **{fault: 1.0 if fault == "ambiguous_create_rate" else 0.2})
    world.write_rows([contact_row(n) for n in range(10)])
    world.run()
    with StateStore.open(state_url) as store:
        assert store.open_intents() == []
        links = store.load_links("crm")
    contacts = world.by_external_id()
    for key, link in links.items():
        if link.status == "synced":
            assert contacts[key]["id"] == link.contact_id
        else:  # recorded as failed, never as synced; retried next run
            assert link.last_error
    world.run()  # failed rows are retried (and looked up first)
    assert len(world.by_external_id()) == 10  # asserts no duplicate externalId

