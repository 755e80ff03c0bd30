"""The plan table shows contact data as typed and styles only its own words."""

from __future__ import annotations

from rich.console import Console

from sync.models import Contact, Item
from sync.plan import FieldChange, Op
from sync.report import _ops_table


def _rendered(op: Op) -> str:
    console = Console(width=200, record=True, color_system="truecolor", force_terminal=True)
    console.print(_ops_table("1 will be created", [op], "bold"))
    return console.export_text()


def test_markup_in_contact_data_is_shown_as_typed_and_an_error_is_styled_not_bracketed():
    contact = Contact(external_id="[red]k1", first_name="[/b]", last_name=None, company="[bold]Acme",
                      emails=(Item("work", "a@x.org"),), phone_numbers=(), custom_fields={})
    create = Op("create", "crm", "[red]k1", 2, contact, error="refused: [name] is taken")
    text = _rendered(create)
    assert "[red]k1" in text and "[/b]" in text and "[bold]Acme" in text
    assert "refused: [name] is taken" in text and "[red]refused" not in text
    update = Op("update", "crm", "k2", 3, contact, changes=(FieldChange("company", "[i]Old", "New"),),
                note="adopts [x]")
    text = _rendered(update)
    assert "company: [i]Old → New" in text and "(adopts [x])" in text
