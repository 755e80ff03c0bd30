"""A source in key order is planned by a merge with the state; any other order against the
whole state in memory. Both must plan exactly the same writes."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from sync.engine import RunResult
from tests.helpers import World, contact_row

FALLBACK = "source not in key order; planning against the whole state index"


@pytest.fixture
def world(tmp_path: Path, state_url: str) -> World:
    return World(tmp_path, state_url)


def _by_key(result: RunResult) -> dict[str, Any]:
    """What a plan decided, by key (row numbers differ between orders of the same rows)."""
    plan = result.plan
    return {
        "summary": plan.summary(),
        "ops": sorted((op.kind, op.external_id, tuple(op.changes)) for op in plan.ops()),
        "held": sorted(op.external_id for op in plan.held()),
        "issues": sorted((i.key or "", i.level, i.column or "", i.reason.split(" (", 1)[0])
                         for i in plan.issues()),
        "missing": sorted(sp_key for sp in plan.sources for sp_key in sp.missing),
    }


def _dry_run(world: World, rows: list[dict[str, str]]) -> tuple[dict[str, Any], bool]:
    world.write_rows(rows)
    with capture_logs() as logs:
        result = world.run(dry_run=True)
    fell_back = any(entry["event"] == FALLBACK for entry in logs)
    return _by_key(result), fell_back


def test_a_sorted_and_a_shuffled_source_are_planned_alike(world: World):
    """Edits, rows gone at the start, middle and end, a repeated key, a row without a key
    and new keys (sorting first, between and last): the merge (sorted file) and the whole
    index (shuffled file) plan the same creates, updates, deletes and rejections."""
    rows = {f"K{n}": contact_row(n) for n in range(40)}
    world.write_rows(sorted(rows.values(), key=lambda r: r["id"]))
    world.run()
    for gone in ("K0", "K25", "K9"):  # K0 sorts first, K9 last
        del rows[gone]
    rows["K12"] = {**rows["K12"], "Company": "Edited"}
    rows["K3"] = {**rows["K3"], "Email": "new@example.com"}
    for n in (100, 2000, 95):  # "K100" < "K11"; "K2000" < "K21"; "K95" sorts last
        rows[f"K{n}"] = contact_row(n)
    edited = sorted(rows.values(), key=lambda r: r["id"])
    edited.insert(7, {**edited[6], "First Name": "Twin"})  # a key repeated on the next row
    edited.append(contact_row(500, id="", Mobile="(212) 555-0142"))  # no key, like no contact

    merged, merged_fell_back = _dry_run(world, edited)
    shuffled = list(edited)
    random.Random(7).shuffle(shuffled)
    indexed, indexed_fell_back = _dry_run(world, shuffled)

    assert not merged_fell_back and indexed_fell_back
    assert merged == indexed
    summary = merged["summary"]
    assert (summary["create"], summary["update"], summary["delete"]) == (3, 2, 3)
    assert summary["rejected"] == 3  # both rows of the repeated key, and the keyless row


def test_a_source_out_of_order_late_is_still_planned_right(world: World):
    """Sorted for most of the file, then one key out of place: the merge stops there and the
    whole source is planned again against the index; nothing is lost or counted twice."""
    rows = sorted((contact_row(n) for n in range(30)), key=lambda r: r["id"])
    world.write_rows(rows)
    world.run()
    late = [*rows[1:], rows[0]]  # the first key moved to the end
    late[10] = {**late[10], "Company": "Edited"}
    plan, fell_back = _dry_run(world, late)
    assert fell_back
    assert plan["summary"]["update"] == 1 and plan["summary"]["unchanged"] == 29
    assert plan["summary"]["delete"] == 0 and plan["summary"]["create"] == 0
