"""The Google Sheets connector, through gspread's and google-auth's real code, against the fake."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import ValidationError

from connectors.base import SourceContext, WritebackRow
from connectors.google_sheets import GoogleSheetsSource
from connectors.registry import get_connector
from sync.errors import ConfigError, SourceError
from tests.connectors.contract import SourceContract
from tests.connectors.fake_sheets import SCOPE_READONLY, SCOPE_READWRITE, FakeSheets, service_account_info

SHEET_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-xyz"
EMAIL = "sync-bot@test-project.iam.gserviceaccount.com"
HEADER = ["id", "Name", "Phone", "Zip"]


@pytest.fixture
def fake() -> Iterator[FakeSheets]:
    backend = FakeSheets()
    backend.add_account(EMAIL)
    yield backend
    backend.close()


@pytest.fixture
def session(fake: FakeSheets) -> Iterator[requests.Session]:
    opened = fake.session()
    yield opened
    opened.close()


class Sleeps(list[float]):
    """Records the waits of retries instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def source_for(
    session: requests.Session, tmp_path: Path, *, env: dict[str, str] | None = None,
    sleeps: Sleeps | None = None, **options: Any,
) -> GoogleSheetsSource:
    """A source on the fake, its key passed as JSON in $SA_JSON unless env says otherwise."""
    options.setdefault("spreadsheet", SHEET_ID)
    options.setdefault("credentials_json_env", "SA_JSON")
    if env is None:
        env = {"SA_JSON": json.dumps(service_account_info(EMAIL))}
    return GoogleSheetsSource(
        GoogleSheetsSource.Options(**options), SourceContext("team-sheet", tmp_path, env),
        session=session, sleep=sleeps if sleeps is not None else Sleeps(),
    )


def share(fake: FakeSheets, rows: Sequence[Sequence[str]], *, role: str = "reader", **tabs: Any) -> None:
    """A spreadsheet whose first tab, "Contacts", holds ``rows``, shared with the account."""
    fake.add_spreadsheet(SHEET_ID, {"Contacts": rows, **tabs}, shared_with={EMAIL: role})


def read(source: GoogleSheetsSource) -> tuple[tuple[str, ...], list[tuple[int, tuple[str, ...]]], dict[str, Any]]:
    with source.open() as stream:
        return stream.columns, [(r.row, r.values) for r in stream.records], dict(stream.info)


class TestGoogleSheetsContract(SourceContract):
    """The shared connector contract, on a fake spreadsheet."""

    @pytest.fixture(autouse=True)
    def _backend(self, session: requests.Session, fake: FakeSheets) -> None:
        self.session = session
        self.fake = fake

    def make_source(self, tmp_path: Path, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> GoogleSheetsSource:
        self.fake.spreadsheets.pop(SHEET_ID, None)
        share(self.fake, [list(columns), *[list(r) for r in rows]])
        return source_for(self.session, tmp_path)


def test_registry_finds_the_connector() -> None:
    """The config's type "google_sheets" names this class."""
    assert get_connector("google_sheets") is GoogleSheetsSource


def test_values_keep_plus_signs_and_leading_zeros(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """Cells arrive as the sheet shows them: "+1 415…" keeps its +, "00123" its zeros."""
    share(fake, [HEADER, ["1", "Ann", "+1 415-555-0101", "00123"], ["2", "Bo", "0044 20 7946 0958", "02134"]])
    columns, records, _ = read(source_for(session, tmp_path))
    assert columns == tuple(HEADER)
    assert records == [(2, ("1", "Ann", "+1 415-555-0101", "00123")), (3, ("2", "Bo", "0044 20 7946 0958", "02134"))]
    (values_call,) = fake.calls("values")
    assert values_call.params["valueRenderOption"] == ["FORMATTED_VALUE"]


def test_one_values_request_per_read(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """A read is one token exchange, one metadata request and exactly one values request."""
    share(fake, [HEADER] + [[str(i), f"N{i}", "", ""] for i in range(500)])
    source = source_for(session, tmp_path)
    assert len(read(source)[1]) == 500
    assert [r.route for r in fake.log] == ["token", "metadata", "values"]
    read(source)
    assert len(fake.calls("values")) == 2


def test_header_below_row_one_ignores_the_rows_above(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """With header_row = 3 the title rows above are ignored; row numbers stay the sheet's."""
    share(fake, [["Team contacts, exported weekly"], [], HEADER, ["1", "Ann", "+14155550101", "1"]])
    columns, records, _ = read(source_for(session, tmp_path, header_row=3))
    assert columns == tuple(HEADER)
    assert records == [(4, ("1", "Ann", "+14155550101", "1"))]


def test_header_row_beyond_the_data_is_an_error(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """A header_row with nothing on it says so, naming the spreadsheet and the row."""
    share(fake, [HEADER, ["1", "Ann", "", ""]])
    with pytest.raises(SourceError, match=r"'Team contacts' .*row 7.*header row is empty"):
        read(source_for(session, tmp_path, header_row=7))


def test_an_empty_worksheet_is_an_error_not_an_empty_source(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """A tab with nothing on it has no header: that is an error, not zero contacts."""
    share(fake, [])
    with pytest.raises(SourceError, match=r"worksheet 'Contacts', row 1: the header row is empty"):
        read(source_for(session, tmp_path))


def test_blank_header_cells_drop_their_column(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """A blank header cell drops its column; names are trimmed."""
    share(fake, [[" id ", "", "Name", "   ", "Phone"], ["1", "note", "Ann", "x", "+1 415 555 0101"]])
    columns, records, _ = read(source_for(session, tmp_path))
    assert columns == ("id", "Name", "Phone")
    assert records == [(2, ("1", "Ann", "+1 415 555 0101"))]


def test_duplicate_header_names_are_an_error_naming_both_columns(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """Two columns with one name (ignoring case) fail, naming them by column letter."""
    share(fake, [["id", "Email", "Name", "email"], ["1", "a@x.org", "Ann", "b@x.org"]])
    with pytest.raises(SourceError) as raised:
        read(source_for(session, tmp_path))
    message = str(raised.value)
    assert "'Email' (column B) and 'email' (column D)" in message
    assert SHEET_ID in message and "'Team contacts'" in message


def test_ragged_rows_read_as_empty_trailing_cells(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """Google drops trailing empty cells; the record pads them back as ""."""
    share(fake, [HEADER, ["1", "Ann"], ["2"], ["3", "Cy", "+14155550103", "9", "extra"]])
    _, records, info = read(source_for(session, tmp_path))
    assert records == [(2, ("1", "Ann", "", "")), (3, ("2", "", "", "")), (4, ("3", "Cy", "+14155550103", "9"))]
    assert info["extra_cells_rows"] == 1


def test_blank_rows_are_skipped_and_rows_keep_their_sheet_numbers(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """Empty and whitespace-only rows yield nothing; later rows keep their own numbers."""
    share(fake, [HEADER, ["1", "Ann"], [], ["", " ", ""], ["4", "Di"]])
    _, records, _ = read(source_for(session, tmp_path))
    assert [row for row, _ in records] == [2, 5]


def test_merged_cells_hold_their_value_in_the_first_cell_only(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """A company merged over rows 2-3 reads on row 2 only, as Sheets returns it (no fill-down)."""
    share(fake, [["id", "Company"], ["1", "Acme (merged B2:B3)"], ["2", ""]])
    _, records, _ = read(source_for(session, tmp_path))
    assert records == [(2, ("1", "Acme (merged B2:B3)")), (3, ("2", ""))]


def test_worksheet_by_name_by_index_and_by_url_gid(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """A tab is chosen by name (ignoring case), by index, or by the #gid of a pasted URL."""
    share(fake, [HEADER, ["1", "first tab"]], Leads=[HEADER, ["9", "second tab"]])
    leads = fake.spreadsheets[SHEET_ID].worksheets[1]
    url = f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid={leads.sheet_id}"
    assert read(source_for(session, tmp_path, worksheet=" leads"))[1][0][1][1] == "second tab"
    assert read(source_for(session, tmp_path, worksheet=1))[1][0][1][1] == "second tab"
    assert read(source_for(session, tmp_path, spreadsheet=url))[1][0][1][1] == "second tab"
    assert read(source_for(session, tmp_path, spreadsheet=url, worksheet=0))[1][0][1][1] == "first tab"
    assert read(source_for(session, tmp_path))[1][0][1][1] == "first tab"
    gone = url.replace(f"gid={leads.sheet_id}", "gid=99")
    with pytest.raises(SourceError, match=r"no worksheet with gid 99 \(from the URL\)"):
        read(source_for(session, tmp_path, spreadsheet=gone))


def test_missing_worksheet_lists_the_ones_there_are(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """No such tab: the error names the spreadsheet and lists its tabs."""
    share(fake, [HEADER], Leads=[HEADER])
    with pytest.raises(SourceError, match=r"'Team contacts'.*no worksheet 'Prospects'; its worksheets are: 'Contacts', 'Leads'"):
        read(source_for(session, tmp_path, worksheet="Prospects"))
    with pytest.raises(SourceError, match="no worksheet 5"):
        read(source_for(session, tmp_path, worksheet=5))


def test_quota_429_is_retried_with_backoff_then_succeeds(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """Two 429s on the values read are waited out (1 s, then Retry-After's 7 s) and the read succeeds."""
    share(fake, [HEADER, ["1", "Ann"]])
    fake.fail("values", 429)
    fake.fail("values", 429, headers={"Retry-After": "7"})
    sleeps = Sleeps()
    _, records, _ = read(source_for(session, tmp_path, sleeps=sleeps))
    assert records == [(2, ("1", "Ann", "", ""))]
    assert sleeps == [1.0, 7.0]
    assert [r.status for r in fake.calls("values")] == [429, 429, 200]


def test_quota_429_that_never_clears_fails_cleanly_after_the_retries(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """A 429 on every try fails after six attempts with backoff, naming the spreadsheet and the quota."""
    share(fake, [HEADER, ["1", "Ann"]])
    fake.fail("metadata", 429, times=100)
    sleeps = Sleeps()
    with pytest.raises(SourceError, match=rf"{SHEET_ID}.*quota is exhausted \(HTTP 429, still refused after 6 attempts\)"):
        read(source_for(session, tmp_path, sleeps=sleeps))
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert fake.calls("values") == []


def test_server_errors_are_retried(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """A 503 is transient: retried, then the read goes on."""
    share(fake, [HEADER, ["1", "Ann"]])
    fake.fail("metadata", 503)
    assert len(read(source_for(session, tmp_path))[1]) == 1


def test_not_shared_403_tells_whom_to_share_with(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """A spreadsheet not shared with the account: the message gives the account's email."""
    fake.add_spreadsheet(SHEET_ID, {"Contacts": [HEADER]}, shared_with={"someone@example.com": "writer"})
    with pytest.raises(SourceError) as raised:
        read(source_for(session, tmp_path))
    message = str(raised.value)
    assert f"share it with {EMAIL}" in message
    assert SHEET_ID in message and "team-sheet" in message


def test_api_not_enabled_403_says_to_enable_it(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """A 403 because the Sheets API is off in the project says that, not "share it"."""
    share(fake, [HEADER])
    fake.fail("metadata", 403, message="Google Sheets API has not been used in project 123 before or it is disabled.")
    with pytest.raises(SourceError, match="API is not enabled"):
        read(source_for(session, tmp_path))


def test_dropped_connections_are_retried(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """A connection reset mid-read is retried; one that never recovers fails naming the sheet."""
    share(fake, [HEADER, ["1", "Ann"]])
    fake.fail("values", 0, times=2)
    sleeps = Sleeps()
    assert len(read(source_for(session, tmp_path, sleeps=sleeps))[1]) == 1
    assert sleeps == [1.0, 2.0]
    fake.fail("values", 0, times=6)
    with pytest.raises(SourceError, match=r"'Team contacts'.*cannot reach Google Sheets .* after 6 attempts"):
        read(source_for(session, tmp_path))


def test_missing_spreadsheet_404(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """An id that names no spreadsheet says so, with the id."""
    with pytest.raises(SourceError, match=rf"no spreadsheet with id '{SHEET_ID}'"):
        read(source_for(session, tmp_path))


def test_refused_key_names_the_service_account(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """A key Google refuses at the token exchange (deleted, disabled) names the account."""
    share(fake, [HEADER])
    other = service_account_info("gone@test-project.iam.gserviceaccount.com")
    source = source_for(session, tmp_path, env={"SA_JSON": json.dumps(other)})
    with pytest.raises(SourceError, match=r"no access token to the service account gone@test-project.*Invalid JWT Signature.*create a new one"):
        read(source)


def test_read_only_scope_unless_write_back_is_on(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """Reading asks for spreadsheets.readonly; with write-back configured, for spreadsheets."""
    share(fake, [HEADER, ["1", "Ann"]])
    read(source_for(session, tmp_path))
    read(source_for(session, tmp_path, writeback={"status": "Zip"}))
    assert [scopes for _, scopes in fake.tokens.values()] == [{SCOPE_READONLY}, {SCOPE_READWRITE}]


def test_key_file_named_by_the_env_var(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """credentials_env names a key file; a relative path is taken from the config folder."""
    share(fake, [HEADER, ["1", "Ann"]])
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "sa.json").write_text(json.dumps(service_account_info(EMAIL)))
    source = source_for(session, tmp_path, env={"GOOGLE_APPLICATION_CREDENTIALS": "keys/sa.json"},
                        credentials_json_env=None)
    assert len(read(source)[1]) == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, r"does not exist"),
        ("{not json", r"is not JSON \(line 1"),
        ('["a"]', r"not a service-account key"),
        ('{"type": "authorized_user", "client_id": "x"}', r"type is 'authorized_user'.*IAM > Service accounts"),
        ('{"type": "service_account", "client_email": "a@b.c"}', r"lacks private_key, token_uri"),
        ("KEY", r"private key that cannot be used"),
    ],
)
def test_bad_key_files_name_the_variable_and_the_file(
    session: requests.Session, tmp_path: Path, content: str | None, expected: str
) -> None:
    """Each way a key file can be wrong is a ConfigError naming $VAR and the file."""
    path = tmp_path / "sa.json"
    if content == "KEY":
        broken = service_account_info(EMAIL) | {"private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}
        content = json.dumps(broken)
    if content is not None:
        path.write_text(content)
    source = source_for(session, tmp_path, env={"SHEETS_KEY": str(path)}, credentials_env="SHEETS_KEY",
                        credentials_json_env=None)
    with pytest.raises(ConfigError, match=expected) as raised:
        read(source)
    assert f"{path} named by $SHEETS_KEY" in str(raised.value)
    assert "BEGIN PRIVATE KEY" not in str(raised.value)


def test_unset_credentials_variables_are_config_errors(session: requests.Session, tmp_path: Path) -> None:
    """An unset variable is named, for the file path and for the JSON itself."""
    with pytest.raises(ConfigError, match=r"\$GOOGLE_APPLICATION_CREDENTIALS is not set"):
        read(source_for(session, tmp_path, env={}, credentials_json_env=None))
    with pytest.raises(ConfigError, match=r"\$SA_JSON is not set"):
        read(source_for(session, tmp_path, env={}))


def test_options_validate_the_spreadsheet_worksheet_and_writeback() -> None:
    """Bad ids, URLs, indexes and write-back roles are rejected when the config is read."""
    options = GoogleSheetsSource.Options
    assert options(spreadsheet=f"https://docs.google.com/spreadsheets/d/{SHEET_ID}/edit#gid=0").url_gid == 0
    bad_options: list[dict[str, Any]] = [
        {"spreadsheet": "https://docs.google.com/document/d/"},
        {"spreadsheet": "not an id"},
        {"spreadsheet": SHEET_ID, "worksheet": -1},
        {"spreadsheet": SHEET_ID, "worksheet": True},
        {"spreadsheet": SHEET_ID, "header_row": 0},
        {"spreadsheet": SHEET_ID, "writeback": {"contact": "ID"}},
        {"spreadsheet": SHEET_ID, "writeback": {"status": "X", "synced_at": " x "}},
        {"spreadsheet": SHEET_ID, "tab": "Contacts"},
    ]
    for bad in bad_options:
        with pytest.raises(ValidationError):
            options(**bad)


def test_serial_dates_reads_date_cells_as_serial_numbers_in_one_request(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """With serial_dates, date-typed cells read as serial days; other cells stay formatted text."""
    share(fake, [["id", "Phone", "Birthday", "Since"], ["1", "+1 415 555 0101", "7/4/1990", "00123"],
                 [], ["3", "", "1/2/2024 12:00:00", ""]])
    tab = fake.spreadsheets[SHEET_ID].worksheets[0]
    tab.date_serials[(2, 3)] = 33058.0
    tab.date_serials[(4, 3)] = 45293.5
    columns, records, _ = read(source_for(session, tmp_path, serial_dates=True))
    assert columns == ("id", "Phone", "Birthday", "Since")
    assert records == [(2, ("1", "+1 415 555 0101", "33058", "00123")), (4, ("3", "", "45293.5", ""))]
    assert [r.route for r in fake.log] == ["token", "metadata", "grid"]


def test_fifty_thousand_rows_in_one_pass_without_copies(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """50,000 rows: one values request; streaming the records allocates nothing that lasts."""
    rows = [[str(i), f"Person {i}", f"+1415555{i % 10000:04d}", f"{i % 100000:05d}"] for i in range(50_000)]
    share(fake, [HEADER, *rows])
    with source_for(session, tmp_path).open() as stream:
        tracemalloc.start()  # the rows are held by now: measure only what streaming adds
        try:
            count, last = 0, None
            for record in stream.records:
                count, last = count + 1, record
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert count == 50_000
    assert last is not None and last.row == 50_001 and last.values[3] == "49999"
    assert len(fake.calls("values")) == 1
    # A copy of the row list alone would be 400 kB (50,000 pointers), of the rows 4 MB.
    assert peak < 100_000, f"streaming allocated {peak} bytes at its peak"


# --- write-back ----------------------------------------------------------------------

WB_HEADER = ["id", "Name", "OpenPhone ID", "Sync status", "Notes", "Last synced"]
WRITEBACK = {"contact_id": "OpenPhone ID", "status": "Sync status", "synced_at": "Last synced"}


def grid(fake: FakeSheets) -> list[list[str]]:
    """The first tab's cells as a padded rectangle, for before/after comparison."""
    rows = fake.spreadsheets[SHEET_ID].worksheets[0].rows
    width = max(len(r) for r in rows)
    return [r + [""] * (width - len(r)) for r in rows]


def test_write_back_writes_exactly_the_named_cells_in_one_request(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """Outcomes land in their columns on their rows, in one batchUpdate; no other cell changes."""
    share(fake, [["Contacts export"], WB_HEADER, ["K1", "Ann", "", "", "keep", ""], ["K2", "Bo", "", "", "me", ""],
                 ["K3", "Cy"], ["K4", "Di", "old", "old", "too", "old"]], role="writer")
    before = grid(fake)
    source = source_for(session, tmp_path, header_row=2, writeback=WRITEBACK)
    written = source.write_back([
        WritebackRow(3, {"contact_id": "CT1", "status": "synced", "synced_at": "2024-05-01T10:00:00Z"}),
        WritebackRow(4, {"contact_id": "CT2", "status": "synced", "synced_at": "2024-05-01T10:00:00Z"}),
        WritebackRow(5, {"status": "rejected: no key"}),
        WritebackRow(6, {"contact_id": "=HYPERLINK(1)", "status": "+1 415"}),
    ])
    assert written == 9
    (update,) = fake.calls("batch_update")
    assert update.body["valueInputOption"] == "RAW"
    after = grid(fake)
    changed = {(r + 1, c + 1): after[r][c] for r in range(len(after)) for c in range(len(after[0]))
               if (before[r][c] if r < len(before) and c < len(before[r]) else "") != after[r][c]}
    assert changed == {
        (3, 3): "CT1", (3, 4): "synced", (3, 6): "2024-05-01T10:00:00Z",
        (4, 3): "CT2", (4, 4): "synced", (4, 6): "2024-05-01T10:00:00Z",
        (5, 4): "rejected: no key",
        (6, 3): "=HYPERLINK(1)", (6, 4): "+1 415",
    }
    assert [r.route for r in fake.log] == ["token", "metadata", "values", "batch_update"]


def test_write_back_of_many_rows_is_one_small_request(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """10,000 consecutive rows with adjacent columns become one block range, not 20,000."""
    share(fake, [["id", "OpenPhone ID", "Sync status"]] + [[f"K{i}"] for i in range(10_000)], role="writer")
    source = source_for(session, tmp_path, writeback={"contact_id": "OpenPhone ID", "status": "Sync status"})
    rows = [WritebackRow(i + 2, {"contact_id": f"C{i}", "status": "synced"}) for i in range(10_000)]
    assert source.write_back(rows) == 20_000
    (update,) = fake.calls("batch_update")
    assert [d["range"] for d in update.body["data"]] == ["'Contacts'!B2:C10001"]
    assert grid(fake)[10_000] == ["K9999", "C9999", "synced"]


def test_write_back_columns_are_not_read_as_record_columns(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """The columns write-back fills are outputs: left out of the records, so reads stay stable."""
    share(fake, [WB_HEADER, ["K1", "Ann", "CT1", "synced", "n", "2024-05-01"]], role="writer")
    columns, records, info = read(source_for(session, tmp_path, writeback=WRITEBACK))
    assert columns == ("id", "Name", "Notes")
    assert records == [(2, ("K1", "Ann", "n"))]
    assert "writeback_missing_columns" not in info


def test_write_back_skips_and_reports_columns_the_header_lacks(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """A configured column missing from the header is reported, and never created."""
    share(fake, [["id", "Sync status"], ["K1"]], role="writer")
    source = source_for(session, tmp_path, writeback=WRITEBACK)
    assert read(source)[2]["writeback_missing_columns"] == ["OpenPhone ID", "Last synced"]
    assert source.write_back([WritebackRow(2, {"contact_id": "CT1", "status": "synced", "synced_at": "now"})]) == 1
    assert grid(fake) == [["id", "Sync status"], ["K1", "synced"]]
    assert source.writeback_missing == ("OpenPhone ID", "Last synced")


def test_write_back_without_config_does_nothing(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """No writeback option: write_back returns 0 without a single request."""
    share(fake, [HEADER, ["1"]], role="writer")
    assert source_for(session, tmp_path).write_back([WritebackRow(2, {"status": "synced"})]) == 0
    assert fake.log == []


def test_write_back_refuses_the_header_row(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """A row number at or above the header is refused before anything is written."""
    share(fake, [WB_HEADER, ["K1"]], role="writer")
    source = source_for(session, tmp_path, writeback=WRITEBACK)
    with pytest.raises(SourceError, match=r"refusing to write back to rows \[1\].*nothing was written"):
        source.write_back([WritebackRow(2, {"status": "ok"}), WritebackRow(1, {"status": "oops"})])
    assert fake.log == []


def test_write_back_to_a_read_only_share_says_to_make_it_editor(fake: FakeSheets, session: requests.Session, tmp_path: Path) -> None:
    """Shared as Viewer only: the write is refused with advice naming the account."""
    share(fake, [WB_HEADER, ["K1"]], role="reader")
    source = source_for(session, tmp_path, writeback=WRITEBACK)
    with pytest.raises(SourceError, match=rf"cannot write back.*share it with {EMAIL} \(Viewer to read, Editor for write-back\)"):
        source.write_back([WritebackRow(2, {"status": "synced"})])
