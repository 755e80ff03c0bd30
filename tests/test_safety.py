"""Safety end to end: delete gates per source, deletes only of our own contacts, failed rows
recorded and retried, and SIGTERM / Ctrl-C stopping after the requests in flight."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from state.store import StateStore
from sync.errors import SourceError
from sync.plan import Plan
from sync.sandbox import SandboxSettings, sandbox_transport
from tests.chaos.bench import Bench
from tests.chaos.harness import (
    API_KEY,
    audit,
    finish,
    row,
    run_sync,
    sandbox_process,
    start_sync,
    sync_env,
    write_config,
    write_rows,
)

# --- delete gates ---------------------------------------------------------------------


@pytest.fixture
def two(tmp_path: Path, state_url: str) -> Bench:
    """Two sources, crm (K0-K9) and shop (S0-S9), synced once."""
    bench = Bench(tmp_path, state_url, sources={"crm": "", "shop": ""})
    bench.write("crm", [row(n) for n in range(10)])
    bench.write("shop", [row(n, id=f"S{n}") for n in range(10)])
    assert bench.run().exit_code == 0
    return bench


def test_an_empty_source_holds_its_deletes_while_everything_else_applies(two: Bench):
    """crm comes back empty: its 10 deletes are held (exit 3, also in the dry run); shop still syncs."""
    two.write("crm", [])
    shop = [row(n, id=f"S{n}") for n in range(1, 10)] + [row(10, id="S10")]
    shop[0]["Company"] = "Edited"
    two.write("shop", shop)
    preview = two.run(dry_run=True)
    result = two.run()
    for outcome in (preview, result):
        assert outcome.exit_code == 3
        document = outcome.to_dict()
        assert document["summary"]["held"] == 10
        assert {op["externalId"] for op in document["held"]} == {f"K{n}" for n in range(10)}
        crm = next(s for s in document["sources"] if s["name"] == "crm")
        assert "returned no rows" in crm["held_reason"]
        assert document["summary"]["delete"] == 1 and document["summary"]["create"] == 1
    assert len(two.contacts("crm")) == 10, "nothing of crm was deleted"
    shop_now = two.contacts("shop")
    assert "S0" not in shop_now and "S10" in shop_now
    assert shop_now["S1"]["defaultFields"]["company"] == "Edited"


def test_a_source_that_lost_its_key_column_deletes_nothing(two: Bench):
    """crm's export lost its id column: every crm delete is held (exit 3); shop is unaffected."""
    (two.tmp / "crm.csv").write_text("First Name,Last Name\nAda,Lovelace\n", encoding="utf-8")
    result = two.run()
    assert result.exit_code == 3
    crm = result.plan.sources[0]
    assert "deletes are held back" in (crm.hold_reason or "") and len(crm.held) == 10
    assert len(two.contacts("crm")) == 10 and len(two.contacts("shop")) == 10


def test_a_missing_key_column_is_never_reported_as_done_even_without_deletes(
    tmp_path: Path, state_url: str
):
    """delete = "never" and a key column that is not in the source (a typo): nothing syncs,
    the reason is shown and recorded, and the run exits 3 instead of "nothing to do"."""
    bench = Bench(tmp_path, state_url)
    config = bench.config_path.read_text(encoding="utf-8")
    assert 'delete = "mirror"' in config
    bench.config_path.write_text(config.replace('delete = "mirror"', 'delete = "never"'), encoding="utf-8")
    bench.write("crm", [row(n) for n in range(3)])
    bench.run()
    (tmp_path / "crm.csv").write_text("ID_,First Name\nK0,Ada\n", encoding="utf-8")
    for dry_run in (True, False):
        result = bench.run(dry_run=dry_run)
        assert result.exit_code == 3 and result.outcome == "held"
        reason = result.plan.hold_reasons()["crm"]
        assert "the key column 'id' (sources[crm].key) is not in the source" in reason
        assert "nothing from this source is synced" in reason
        assert "deletes" not in reason
        assert result.plan.summary()["held"] == 0 and result.plan.is_empty
    assert _status(tmp_path)["runs"][0]["outcome"] == "held"
    assert len(bench.contacts("crm")) == 3


def test_an_unclosed_quote_stops_the_source_instead_of_deleting_the_rows_after_it(
    tmp_path: Path, state_url: str
):
    """A stray quote in row 12 of 20: the run stops (exit 4) naming the line; no contact
    after it is deleted and the row it is in is not overwritten with the rest of the file."""
    bench = Bench(tmp_path, state_url)
    rows = [row(n) for n in range(20)]
    bench.write("crm", rows)
    bench.run()
    before = bench.contacts("crm")
    lines = (tmp_path / "crm.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[12] = lines[12].replace(",Acme,", ',"Acme,')  # row 12 of 20 sits on line 13
    (tmp_path / "crm.csv").write_text("".join(lines), encoding="utf-8")
    with pytest.raises(SourceError, match="record starting on line 13") as caught:
        bench.run()
    assert caught.value.exit_code == 4
    assert bench.contacts("crm") == before


def test_a_new_key_in_two_sources_is_created_by_neither_and_reported_in_both(two: Bench):
    """crm and shop both gain a row DUP: neither creates it (one would take the other's
    contact over), each reports its row; a later delete of one row deletes nothing of the other."""
    two.write("crm", [row(n) for n in range(10)] + [row(10, id="DUP", Company="FromCrm")])
    two.write("shop", [row(n, id=f"S{n}") for n in range(10)] + [row(10, id="DUP", Company="FromShop")])
    result = two.run()
    assert result.exit_code == 0 and result.plan.summary()["create"] == 0
    issues = {(i.source, i.row, i.key) for i in result.plan.issues()}
    assert issues == {("crm", 12, "DUP"), ("shop", 12, "DUP")}
    assert all("also a row of source" in i.reason for i in result.plan.issues())
    assert "DUP" not in two.contacts()
    two.write("shop", [row(n, id=f"S{n}") for n in range(10)])  # shop gives the key up
    assert two.run().exit_code == 0
    assert two.contacts()["DUP"]["defaultFields"]["company"] == "FromCrm"
    assert two.contacts()["DUP"]["source"] == "crm"


def test_a_create_refused_because_another_source_made_the_key_meanwhile_is_not_adopted(two: Bench):
    """shop plans DUP; before it is written, crm's contact DUP appears (409 on the create):
    shop's row fails with the reason and the contact stays crm's, untouched."""
    two.write("shop", [row(n, id=f"S{n}") for n in range(10)] + [row(10, id="DUP", Company="FromShop")])
    result = two.run(on_planned=lambda plan: two.add_foreign("DUP", "crm", "Crm's own"))
    assert result.exit_code == 1
    [failed] = result.to_dict()["failed"]
    assert failed["externalId"] == "DUP" and "already belongs to source 'crm'" in failed["error"]
    dup = two.contacts()["DUP"]
    assert dup["source"] == "crm" and dup["defaultFields"]["firstName"] == "Crm's own"
    assert dup["defaultFields"]["company"] is None
    with StateStore.open(two.state_url) as store:
        assert store.load_links("shop")["DUP"].status == "failed"


def test_a_key_column_emptied_in_every_row_deletes_nothing(tmp_path: Path, state_url: str):
    """8 rows whose ids were all blanked (the rows are still there): under the ratio floor,
    yet every delete is held (exit 3), in the dry run and the real run."""
    bench = Bench(tmp_path, state_url)
    rows = [row(n) for n in range(8)]
    bench.write("crm", rows)
    bench.run()
    bench.write("crm", [{**r, "id": ""} for r in rows])
    for dry_run in (True, False):
        result = bench.run(dry_run=dry_run)
        assert result.exit_code == 3 and result.plan.summary()["held"] == 8
        assert "none of the 8 rows has a key" in result.plan.hold_reasons()["crm"]
    assert len(bench.contacts("crm")) == 8


def test_a_cleared_key_is_told_apart_from_a_removed_row(tmp_path: Path, state_url: str):
    """K5's id was cleared (its row, phone and email still there) and K9's row removed: the
    deletes are held naming the look-alike row; edits still apply. A keyless row that looks
    like no contact (a note row) does not stop a removed row's delete."""
    bench = Bench(tmp_path, state_url)
    rows = [row(n) for n in range(10)]
    bench.write("crm", rows)
    bench.run()
    edited = [dict(r) for r in rows[:9]]
    edited[5]["id"] = ""
    edited[1]["Company"] = "Edited"
    bench.write("crm", edited)
    held = bench.run()
    assert held.exit_code == 3 and held.plan.summary()["held"] == 2
    assert "row 7 looks like K5" in held.plan.hold_reasons()["crm"]
    assert {"K5", "K9"} <= set(bench.contacts("crm"))
    assert bench.contacts("crm")["K1"]["defaultFields"]["company"] == "Edited"

    edited[5]["id"] = "K5"
    note = {key: "" for key in rows[0]} | {"First Name": "Note: call list"}
    bench.write("crm", [*edited, note])
    deleted = bench.run()
    assert deleted.exit_code == 0 and deleted.plan.summary()["delete"] == 1
    assert "K9" not in bench.contacts("crm") and "K5" in bench.contacts("crm")


def test_two_setups_on_one_workspace_never_take_each_others_contacts(tmp_path: Path, state_url: str):
    """Two configs, each with its own state, sync one workspace; both have a row 2. The
    second never adopts the first one's contact, so dropping its row deletes nothing of
    the first's (before: it relabelled the contact, then deleted it)."""
    (tmp_path / "crm").mkdir()
    crm = Bench(tmp_path / "crm", state_url)
    crm.write("crm", [row(1), row(2)])
    assert crm.run().exit_code == 0
    leads_dir = tmp_path / "leads"
    leads_dir.mkdir()
    leads = Bench(leads_dir, f"sqlite:///{leads_dir / 'state.db'}", sources={"leads": ""})
    leads.app = crm.app  # the same workspace
    leads.write("leads", [row(2, **{"First Name": "Lead"}), row(3)])
    result = leads.run()
    assert [op["externalId"] for op in result.to_dict()["failed"]] == ["K2"]
    assert "labelled 'crm'" in result.to_dict()["failed"][0]["error"]
    leads.write("leads", [row(3)])
    assert leads.run().plan.summary()["delete"] == 0
    contacts = crm.contacts()
    assert contacts["K2"]["source"] == "crm" and contacts["K2"]["defaultFields"]["firstName"] == "First2"
    assert crm.run().plan.summary()["unchanged"] == 2


def test_adopt_any_never_takes_a_contact_another_source_of_the_state_links(tmp_path: Path, state_url: str):
    """Even with adopt = "any", a contact that another source in this state store links (its
    label changed meanwhile) is not adopted."""
    bench = Bench(tmp_path, state_url, sources={"crm": "", "shop": 'adopt = "any"'})
    bench.write("crm", [row(4)])
    bench.write("shop", [])
    bench.run()
    contact = bench.contacts()["K4"]
    bench.state.contacts.get(contact["id"]).source = "relabelled-elsewhere"  # as another sync would
    bench.write("shop", [row(4, Company="Shop's")])
    result = bench.run()
    [failed] = result.to_dict()["failed"]
    assert failed["externalId"] == "K4" and "already belongs to source 'crm'" in failed["error"]
    assert bench.state.contacts.render(bench.state.contacts.get(contact["id"]))["defaultFields"]["company"] == "Acme"


def test_more_deletes_than_max_deletes_are_held(two: Bench):
    """max_deletes = 3 and 4 rows gone: held, exit 3; the 6 other rows are untouched."""
    two.configure(crm="max_deletes = 3")
    two.write("crm", [row(n) for n in range(4, 10)])
    result = two.run()
    assert result.exit_code == 3
    assert "more than max_deletes = 3" in (result.plan.sources[0].hold_reason or "")
    assert len(two.contacts("crm")) == 10


def test_ten_deletes_over_the_ratio_are_held_and_allow_deletes_lets_one_run_through(
    tmp_path: Path, state_url: str
):
    """10 of 60 gone (17 % > 10 %): held; --allow-deletes 5 is not enough; --allow-deletes 10 is, once."""
    bench = Bench(tmp_path, state_url)
    rows = [row(n) for n in range(60)]
    bench.write("crm", rows)
    bench.run()
    bench.write("crm", rows[10:])
    held = bench.run()
    assert held.exit_code == 3
    assert "max_delete_ratio" in (held.plan.sources[0].hold_reason or "")
    too_few = bench.run(allow_deletes=5)
    assert too_few.exit_code == 3
    assert "--allow-deletes allows 5" in (too_few.plan.sources[0].hold_reason or "")
    assert len(bench.contacts()) == 60
    allowed = bench.run(allow_deletes=10)
    assert allowed.exit_code == 0 and allowed.plan.summary()["delete"] == 10
    assert set(bench.contacts()) == {r["id"] for r in rows[10:]}
    bench.write("crm", rows[20:])
    assert bench.run().exit_code == 3, "the permission was for one run only"


def test_nine_deletes_are_under_the_ratio_floor(tmp_path: Path, state_url: str):
    """9 of 60 gone (15 %) is below the 10-delete floor of the ratio gate: they go through."""
    bench = Bench(tmp_path, state_url)
    rows = [row(n) for n in range(60)]
    bench.write("crm", rows)
    bench.run()
    bench.write("crm", rows[9:])
    assert bench.run().exit_code == 0
    assert len(bench.contacts()) == 51


def test_removing_one_row_of_a_small_sheet_just_works(tmp_path: Path, state_url: str):
    """3 rows, one removed (33 % of them): deleted, exit 0."""
    bench = Bench(tmp_path, state_url)
    bench.write("crm", [row(n) for n in range(3)])
    bench.run()
    bench.write("crm", [row(0), row(2)])
    result = bench.run()
    assert result.exit_code == 0 and result.plan.summary()["delete"] == 1
    assert set(bench.contacts()) == {"K0", "K2"}


def test_delete_after_missing_runs_waits_for_the_second_absent_read(tmp_path: Path, state_url: str):
    """delete_after_missing_runs = 2: gone once, kept; back, the count restarts; gone twice, deleted."""
    bench = Bench(tmp_path, state_url, sources={"crm": "delete_after_missing_runs = 2"})
    rows = [row(n) for n in range(5)]
    bench.write("crm", rows)
    bench.run()
    bench.write("crm", rows[:4])
    first = bench.run()
    assert first.exit_code == 0 and first.plan.summary()["delete"] == 0
    assert "K4" in bench.contacts()
    bench.write("crm", rows)  # back: the count starts over
    bench.run()
    bench.write("crm", rows[:4])
    assert bench.run().plan.summary()["delete"] == 0, "one absent read again, not two"
    second = bench.run()
    assert second.plan.summary()["delete"] == 1
    assert set(bench.contacts()) == {"K0", "K1", "K2", "K3"}


def test_only_contacts_this_source_created_or_adopted_are_ever_deleted(tmp_path: Path, state_url: str):
    """Someone else's contacts, with other labels and look-alike externalIds, survive every delete."""
    bench = Bench(tmp_path, state_url, sources={"crm": "", "shop": ""})
    foreign = [
        bench.add_foreign("k1", "hubspot", "Lower"),
        bench.add_foreign("K1-hubspot", "hubspot", "Suffixed"),
        bench.add_foreign("K99", "hubspot", "NeverOurs"),
        bench.add_foreign(None, "hubspot", "NoKey"),
        bench.add_foreign("K2", "shop", "OtherSourceOfOurs"),
    ]
    bench.write("crm", [row(n) for n in range(5)])
    bench.write("shop", [])
    first = bench.run()
    failed = {op["externalId"]: op["error"] for op in first.to_dict()["failed"]}
    assert "already belongs to source 'shop'" in failed["K2"], "never adopts another source's contact"
    bench.write("crm", [])
    cleared = bench.run(allow_deletes=100)
    assert cleared.plan.summary()["delete"] == 4  # K0, K1, K3, K4: the ones crm created
    left = {c["id"]: c for c in bench.state.all_contacts()}
    assert set(left) == {c["id"] for c in foreign}
    for contact in foreign:
        assert left[contact["id"]]["defaultFields"]["firstName"] == contact["defaultFields"]["firstName"]


def test_another_tools_contact_is_not_taken_over_unless_the_source_says_adopt_any(
    tmp_path: Path, state_url: str
):
    """A contact another tool made with our externalId: by default the row fails with a reason
    saying how to adopt it, and the contact is left as it is (no duplicate either)."""
    bench = Bench(tmp_path, state_url)
    theirs = bench.add_foreign("K1", "hubspot", "Theirs")
    bench.write("crm", [row(0), row(1)])
    result = bench.run()
    assert result.exit_code == 1
    [failed] = result.to_dict()["failed"]
    assert failed["externalId"] == "K1"
    assert "labelled 'hubspot'" in failed["error"] and 'adopt = "any"' in failed["error"]
    left = {c["id"]: c for c in bench.state.all_contacts()}
    assert left[theirs["id"]]["source"] == "hubspot"
    assert left[theirs["id"]]["defaultFields"]["firstName"] == "Theirs"
    assert [c["externalId"] for c in left.values()].count("K1") == 1


def test_a_contact_adopted_from_someone_else_is_ours_to_delete(tmp_path: Path, state_url: str):
    """With adopt = "any", a foreign contact with exactly our externalId is adopted
    (relabelled); removing the row deletes it."""
    bench = Bench(tmp_path, state_url, sources={"crm": 'adopt = "any"'})
    adopted = bench.add_foreign("K1", "hubspot", "Before")
    bench.write("crm", [row(0), row(1)])
    bench.run()
    assert bench.contacts("crm")["K1"]["id"] == adopted["id"]
    bench.write("crm", [row(0)])
    assert bench.run().plan.summary()["delete"] == 1
    assert adopted["id"] not in {c["id"] for c in bench.state.all_contacts()}


@pytest.mark.slow
def test_the_cli_exits_3_on_held_deletes_and_allow_deletes_lets_them_through(tmp_path: Path):
    """`sync --dry-run` and `sync` exit 3 with the held list; `sync --allow-deletes 10` deletes and exits 0."""
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    rows = [row(n) for n in range(10)]
    write_rows(tmp_path / "contacts.csv", rows)
    with sandbox_process(tmp_path, "--rate-limit", "200") as sandbox:
        config = write_config(tmp_path / "sync.toml", sandbox.base_url, state_url)
        assert run_sync(config).returncode == 0
        write_rows(tmp_path / "contacts.csv", [])
        dry = run_sync(config, "--dry-run", "--output", "json")
        real = run_sync(config, "--output", "json")
        for result in (dry, real):
            assert result.returncode == 3, result.stderr[-2000:]
            assert len(result.json()["held"]) == 10
        assert len(sandbox.contacts()) == 10
        allowed = run_sync(config, "--allow-deletes", "10", "--output", "json")
        assert allowed.returncode == 0 and allowed.json()["summary"]["delete"] == 10
        assert sandbox.contacts() == []


# --- failed rows ------------------------------------------------------------------------


class RetypeAfterRefresh(httpx.AsyncBaseTransport):
    """The sandbox, with an admin who retypes "Account Tier" again right after the run re-reads it.

    A refused custom field makes the run read the definitions again (once) and retry; a
    second change after that read is one the refresh cannot fix, so the retry is refused too.
    """

    def __init__(self, bench: Bench, field_type: str) -> None:
        self.inner = sandbox_transport(bench.app)
        self.bench = bench
        self.field_type = field_type
        self.reads = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "GET" and request.url.path.endswith("/contact-custom-fields"):
            self.reads += 1
            if self.reads == 2:  # the refresh (the first read is the run's start)
                self.bench.retype_tier(self.field_type)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_a_row_refused_with_400_is_recorded_failed_shown_and_retried(tmp_path: Path, state_url: str):
    """A 400 a refresh does not fix (the field retyped after planning, then again after the
    refresh) fails one row: recorded with the API's words, retried next run."""
    bench = Bench(tmp_path, state_url)
    rows = [row(n, Tier="") for n in range(4)]
    rows[2]["Tier"] = "12"
    bench.write("crm", rows)

    def retype(plan: Plan) -> None:
        bench.retype_tier("number")

    transport = RetypeAfterRefresh(bench, "boolean")
    result = bench.run(on_planned=retype, transport=transport)
    assert transport.reads == 2, "one refresh"
    assert result.exit_code == 1
    failed = result.to_dict()["failed"]
    assert [op["externalId"] for op in failed] == ["K2"]
    assert "refused POST /v1/contacts (400)" in failed[0]["error"]
    assert "Expected boolean for 'Account Tier'" in failed[0]["error"]  # the API's own words
    with StateStore.open(state_url) as store:
        link = store.load_links("crm")["K2"]
        assert (link.status, link.contact_id, link.attempts) == ("failed", None, 1)
        assert link.last_error == failed[0]["error"]
    status = _status(tmp_path)
    assert [(f["externalId"], f["error"]) for f in status["failing"]] == [("K2", failed[0]["error"])]
    assert set(bench.contacts()) == {"K0", "K1", "K3"}

    bench.retype_tier("string")
    retried = bench.run()  # the row did not change: it is retried because it failed
    assert retried.exit_code == 0
    op = next(op for op in retried.plan.ops() if op.external_id == "K2")
    assert op.kind == "create" and op.outcome == "done" and "retrying" in (op.note or "")
    assert bench.contacts()["K2"]["customFields"][0]["value"] == "12"
    assert _status(tmp_path)["failing"] == []


def test_a_refused_update_keeps_the_last_good_state_and_is_retried(tmp_path: Path, state_url: str):
    """A 400 on an update that the refresh does not fix: the link keeps its contact and old
    fingerprint, fails, and the next run patches."""
    bench = Bench(tmp_path, state_url)
    rows = [row(n) for n in range(3)]
    bench.write("crm", rows)
    bench.run()
    with StateStore.open(state_url) as store:
        before = store.load_links("crm")["K1"]
    rows[1]["Tier"] = "1"
    bench.write("crm", rows)
    transport = RetypeAfterRefresh(bench, "number")
    result = bench.run(on_planned=lambda plan: bench.retype_tier("boolean"), transport=transport)
    assert result.exit_code == 1
    failed = result.to_dict()["failed"]
    assert [op["externalId"] for op in failed] == ["K1"]
    assert "Expected number for 'Account Tier'" in failed[0]["error"]
    with StateStore.open(state_url) as store:
        link = store.load_links("crm")["K1"]
    assert link.status == "failed" and link.contact_id == before.contact_id
    assert link.fingerprint == before.fingerprint and link.payload == before.payload
    bench.retype_tier("string")
    retried = bench.run()
    assert retried.exit_code == 0 and retried.plan.summary()["update"] == 1
    tiers = {c["value"] for c in bench.contacts()["K1"]["customFields"]}
    assert tiers == {"1"}


def test_429s_do_not_use_up_the_retry_budget(tmp_path: Path, state_url: str):
    """max_retries = 0 and 30 % spurious 429s: every row still goes through."""
    settings = SandboxSettings(api_keys=(API_KEY,), rate_limit=1000, spurious_429_rate=0.3,
                               send_retry_after=False, seed=5)
    bench = Bench(tmp_path, state_url, settings=settings, max_retries=0)
    bench.write("crm", [row(n) for n in range(8)])
    result = bench.run()
    assert result.exit_code == 0, result.to_dict()["failed"]
    assert result.rate_limited >= 3
    assert len(bench.contacts()) == 8


def test_with_no_retry_budget_a_5xx_does_fail_its_row(tmp_path: Path, state_url: str):
    """The control for the test above: max_retries = 0 and 30 % 5xx fails rows, recorded as failed."""
    settings = SandboxSettings(api_keys=(API_KEY,), rate_limit=1000, fail_rate=0.3, seed=5)
    bench = Bench(tmp_path, state_url, settings=settings, max_retries=0)
    bench.write("crm", [row(n) for n in range(8)])
    result = bench.run()
    assert result.exit_code == 1 and result.plan.summary()["failed"] > 0


def _status(tmp_path: Path) -> dict[str, Any]:
    """`sync status --output json`, run as a user would."""
    done = subprocess.run(
        [sys.executable, "-m", "sync", "status", "--config", str(tmp_path / "sync.toml"), "--output", "json"],
        capture_output=True, text=True, env=sync_env(), check=False, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


# --- SIGTERM and Ctrl-C -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_after_the_requests_in_flight_and_a_later_run_finishes(tmp_path: Path, sig: int):
    """SIGTERM / Ctrl-C mid-run: in-flight writes finish and are recorded, 'interrupted', exit 1; rerun completes."""
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    rows = [row(n) for n in range(80)]
    write_rows(tmp_path / "contacts.csv", rows)
    with sandbox_process(tmp_path, "--rate-limit", "200", "--latency-ms", "60") as sandbox:
        config = write_config(tmp_path / "sync.toml", sandbox.base_url, state_url, rate=200, concurrency=4)
        process, out, err = start_sync(config, "--output", "json", tag="signalled")
        deadline = time.monotonic() + 30
        while sandbox.stats()["by_method"].get("POST", 0) < 8:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.01)
        process.send_signal(sig)
        stopped = finish(process, out, err)
        created = {c["externalId"]: c["id"] for c in sandbox.contacts()}
        document = stopped.json()
        assert stopped.returncode == 1, stopped.stderr[-2000:]
        assert document["interrupted"] is True and document["outcome"] == "interrupted"
        assert 8 <= len(created) < len(rows), "stopped early, after the writes in flight"
        with StateStore.open(state_url) as store:
            assert store.open_intents() == [], "every write in flight was recorded"
            links = store.load_links("crm")
            assert {k: link.contact_id for k, link in links.items()} == created
            last = store.recent_runs(1)[0]
            assert last.outcome == "interrupted" and last.summary["interrupted"] is True
            assert store.lock_holder() is None
        done = [op for op in document["operations"] if op["outcome"] == "done"]
        assert len(done) == len(created)
        assert document["summary"]["pending"] == len(rows) - len(created), "the rest is said to be left"
        later = run_sync(config, "--output", "json")
        assert later.returncode == 0
        assert later.json()["summary"]["create"] == len(rows) - len(created)
        assert audit(sandbox.contacts(), rows, state_url).clean
        assert sandbox.stats()["by_method"]["POST"] == len(rows), "nothing was sent twice"

