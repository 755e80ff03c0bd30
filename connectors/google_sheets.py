"""Google Sheets source: one worksheet read through gspread with a service account.

How a sheet is read, and what this reader does about what sheets get wrong:

- One metadata request (to find the worksheet), then **one** values request for the
  whole used range, rendered as ``FORMATTED_VALUE``: every cell arrives as the text the
  sheet shows, so ``+1 415 555 0101`` keeps its ``+`` and ``00123`` its zeros. Nothing is
  "numericised" (gspread's ``get_all_records`` guessing is never used).
- ``serial_dates = true`` makes that one read a ``spreadsheets.get`` with grid data
  instead: per cell it returns the formatted text, the number and the number-format type,
  so cells formatted as dates (or date-times) read as serial day numbers (``45123``,
  ``45123.5``) and every other cell still reads as formatted text. The Values API cannot
  do this in one call (``UNFORMATTED_VALUE`` + ``SERIAL_NUMBER`` would apply to every
  cell and strip number formats such as leading zeros). The grid answer is several times
  larger, so this is opt-in.
- The header is on ``header_row`` (1 = first row); rows above it are ignored. Names are
  trimmed; a blank header cell drops its column; a name used twice (ignoring case) is an
  error naming both columns by letter.
- Rows shorter than the header (Google drops trailing empty cells) read as empty trailing
  cells; blank rows are skipped. Merged cells read as Sheets returns them: the value is
  in the merge's first (top-left) cell only, the other cells of the merge read as empty.
- Each record's ``row`` is the sheet's own row number, as shown at the left of the sheet.
- Errors name the source and the spreadsheet and say what to do: share it with the
  service account's email (403), check the id (404), the worksheet names that exist,
  the quota (429, after retries with backoff), the credentials variable and file.
- Write-back (``writeback = {contact_id = "OpenPhone ID", status = "Sync status",
  synced_at = "Last synced"}``) writes outcomes in one ``values:batchUpdate`` as raw
  text, only into those cells, only into columns the header has. Write-back columns are
  outputs: they are left out of the records, so writing them does not change the next
  read. With write-back on, the service account needs the read-write scope and Editor.

Test seam: the constructor's ``session`` (or, for config-driven runs, the module-level
:data:`session_factory`) is a ``requests.Session`` whose mounted adapters carry every
HTTP request, the OAuth token exchange included. Left unset, the real network is used.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import gspread
import requests
import structlog
from gspread.exceptions import NoValidUrlKeyFound
from gspread.utils import extract_id_from_url
from pydantic import Field, field_validator

from connectors._sheets_api import SheetsApi
from connectors._sheets_auth import (
    SCOPE_READONLY,
    SCOPE_READWRITE,
    authorized_session,
    load_service_account,
)
from connectors._sheets_table import (
    grid_cells,
    layout_from_header,
    range_start_row,
    records,
    writeback_ranges,
)
from connectors.base import (
    RecordStream,
    Source,
    SourceContext,
    SourceOptions,
    SupportsWriteback,
    WritebackRow,
)
from sync.errors import ConfigError, SourceError

log = structlog.get_logger(__name__)

#: For tests of config-driven runs only: when set, sources built without a ``session``
#: call it for the ``requests.Session`` whose adapters carry their HTTP traffic.
session_factory: Callable[[], requests.Session] | None = None

WRITEBACK_ROLES = ("contact_id", "status", "synced_at")
_SPREADSHEET_ID = re.compile(r"^[A-Za-z0-9_-]{10,}$")
_URL_GID = re.compile(r"[#&?]gid=(\d+)")


def spreadsheet_id(value: str) -> str:
    """The id in ``value``: the id itself, or the spreadsheet's browser URL."""
    text = value.strip()
    if "/" in text or "?" in text:
        try:
            text = extract_id_from_url(text)
        except NoValidUrlKeyFound:
            raise ValueError(
                "no spreadsheet id in this URL; copy the address of the open spreadsheet "
                "(https://docs.google.com/spreadsheets/d/<id>/edit)"
            ) from None
    if not _SPREADSHEET_ID.match(text):
        raise ValueError(f"{value!r} is neither a spreadsheet id nor a spreadsheet URL")
    return text


class GoogleSheetsOptions(SourceOptions):
    """The ``[[sources]]`` keys of a ``type = "google_sheets"`` source."""

    spreadsheet: str
    worksheet: str | int = 0
    header_row: int = Field(default=1, ge=1)
    credentials_env: str | None = "GOOGLE_APPLICATION_CREDENTIALS"
    credentials_json_env: str | None = None
    serial_dates: bool = False
    writeback: dict[str, str] | None = None

    @field_validator("spreadsheet")
    @classmethod
    def _has_an_id(cls, value: str) -> str:
        spreadsheet_id(value)
        return value.strip()

    @field_validator("worksheet", mode="before")
    @classmethod
    def _name_or_index(cls, value: Any) -> Any:
        if isinstance(value, bool):
            # pydantic reports ValueError as a validation error; a TypeError would escape.
            raise ValueError("must be a worksheet name or an index (0 = first)")  # noqa: TRY004
        if isinstance(value, int) and value < 0:
            raise ValueError("an index must be 0 (the first worksheet) or more")
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("writeback")
    @classmethod
    def _known_roles(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        unknown = sorted(set(value) - set(WRITEBACK_ROLES))
        if unknown:
            raise ValueError(f"unknown roles {unknown}; known: {', '.join(WRITEBACK_ROLES)}")
        names = {role: name.strip() for role, name in value.items()}
        if any(not name for name in names.values()):
            raise ValueError("every role needs a column name")
        if len({name.casefold() for name in names.values()}) < len(names):
            raise ValueError("two roles name the same column")
        return names

    @property
    def url_gid(self) -> int | None:
        """The worksheet id (``#gid=``) in a pasted URL, if any."""
        found = _URL_GID.search(self.spreadsheet)
        return int(found.group(1)) if found else None


class GoogleSheetsSource(Source, SupportsWriteback):
    """Reads contacts from one worksheet of a Google spreadsheet; see the module docstring.

    Args:
        options: the source's options.
        context: name, config folder and environment.
        session: test seam; its mounted adapters carry every HTTP request.
        sleep: how retries wait (tests pass a recorder, so 429 retries are instant).
    """

    type_name = "google_sheets"
    Options = GoogleSheetsOptions

    def __init__(
        self,
        options: SourceOptions,
        context: SourceContext,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(options, GoogleSheetsOptions):
            raise ConfigError(
                f"source {context.name!r}: google_sheets needs GoogleSheetsSource.Options, "
                f"not {type(options).__name__}"
            )
        super().__init__(options, context)
        self.sheet_options = options
        self.session = session
        self.sleep = sleep
        self.writeback_missing: tuple[str, ...] = ()

    @property
    def spreadsheet_id(self) -> str:
        """The spreadsheet's id (taken from the URL when a URL was configured)."""
        return spreadsheet_id(self.sheet_options.spreadsheet)

    def describe(self) -> str:
        """Type, name, spreadsheet and worksheet, for logs (no credentials)."""
        return (
            f"google_sheets source {self.name!r} (spreadsheet {self.spreadsheet_id}, "
            f"worksheet {self.sheet_options.worksheet!r})"
        )

    def open(self) -> AbstractContextManager[RecordStream]:
        """Read the worksheet (two requests) and stream its records.

        ``stream.info`` holds ``spreadsheet`` and ``worksheet`` (titles), ``spreadsheet_id``,
        ``extra_cells_rows`` (rows with values right of the header; final once ``records``
        is exhausted) and, when write-back names columns the header lacks,
        ``writeback_missing_columns``.

        Raises:
            ConfigError: the credentials variable, file or key is unusable.
            SourceError: the spreadsheet or worksheet is missing or not shared, the quota
                stayed exhausted through the retries, or the header is empty or repeats a name.
        """
        return self._open()

    @contextmanager
    def _open(self) -> Iterator[RecordStream]:
        # The whole answer is one JSON document anyway: fetch it, close the connection,
        # then stream records out of the parsed rows.
        with self._connect(write=False) as api:
            title = self._worksheet_title(api)
            rows, row_of_first, to_cells = self._fetch(api, title)
            label, spreadsheet_title = api.label, api.title
        header_row = self.sheet_options.header_row
        first = header_row - row_of_first
        where = f"{label}, worksheet {title!r}, row {header_row}"
        if first < 0 or first >= len(rows):
            raise SourceError(f"{where}: the header row is empty (the worksheet has no data there)")
        header = rows[first] if to_cells is None else to_cells(rows[first])
        writeback = self.sheet_options.writeback or {}
        layout = layout_from_header(header, excluded={n.casefold() for n in writeback.values()}, where=where)
        info: dict[str, Any] = {
            "spreadsheet": spreadsheet_title,
            "spreadsheet_id": self.spreadsheet_id,
            "worksheet": title,
            "extra_cells_rows": 0,
        }
        self.writeback_missing = tuple(n for n in writeback.values() if n.casefold() not in layout.positions)
        if self.writeback_missing:
            info["writeback_missing_columns"] = list(self.writeback_missing)
        yield RecordStream(
            columns=layout.columns,
            records=records(
                rows, first=first + 1, row_of_first=header_row + 1,
                layout=layout, to_cells=to_cells, info=info,
            ),
            info=info,
        )

    def write_back(self, rows: Sequence[WritebackRow]) -> int:
        """Write each row's outcome into the write-back columns, in one batched update.

        The header row is read again first, so a column moved since the read is still
        found. Roles whose column the header lacks are skipped and logged. Does nothing
        (returns 0) when ``writeback`` is not configured or there is nothing to write.

        Returns:
            How many cells were written.

        Raises:
            SourceError: a row is the header or above it, or Google refused the write.
        """
        writeback = self.sheet_options.writeback
        if not writeback or not rows:
            return 0
        header_row = self.sheet_options.header_row
        above = sorted({r.row for r in rows if r.row <= header_row})
        if above:
            raise SourceError(
                f"source {self.name!r}: refusing to write back to rows {above[:5]}: "
                f"they are the header (row {header_row}) or above it; nothing was written"
            )
        with self._connect(write=True) as api:
            title = self._worksheet_title(api)
            answer = api.values(title, f"{header_row}:{header_row}")
            header = (answer.get("values") or [[]])[0]
            where = f"{api.label}, worksheet {title!r}, row {header_row}"
            positions = layout_from_header(header, excluded=(), where=where).positions
            columns = {r: positions[n.casefold()] for r, n in writeback.items() if n.casefold() in positions}
            self.writeback_missing = tuple(n for n in writeback.values() if n.casefold() not in positions)
            if self.writeback_missing:
                log.warning("write-back columns not in the header; not written",
                            source=self.name, columns=list(self.writeback_missing))
            data, cells = writeback_ranges(title, rows, columns)
            if data:
                api.update_values(data)
        return cells

    @contextmanager
    def _connect(self, *, write: bool) -> Iterator[SheetsApi]:
        options = self.sheet_options
        label = f"source {self.name!r}, spreadsheet {self.spreadsheet_id}"
        account = load_service_account(
            self.context.env,
            credentials_env=options.credentials_env,
            credentials_json_env=options.credentials_json_env,
            base_dir=self.context.base_dir,
            scopes=[SCOPE_READWRITE if write or options.writeback else SCOPE_READONLY],
            label=label,
        )
        transport = self.session
        owned = None
        if transport is None and session_factory is not None:
            transport = owned = session_factory()
        authed = authorized_session(account.credentials, transport)
        try:
            client = gspread.Client(auth=account.credentials, session=authed)
            yield SheetsApi(client, self.spreadsheet_id, source_name=self.name,
                            account_email=account.email, sleep=self.sleep)
        finally:
            authed.close()  # type: ignore[no-untyped-call]  # google-auth is unannotated
            if owned is not None:
                owned.close()

    def _worksheet_title(self, api: SheetsApi) -> str:
        """Find the configured worksheet; also names the spreadsheet by title in messages."""
        metadata = api.metadata()
        sheets = [s.get("properties") or {} for s in metadata.get("sheets") or ()]
        sheets.sort(key=lambda p: p.get("index", 0))
        found = _pick_worksheet(sheets, self.sheet_options)
        if found is None:
            names = ", ".join(repr(p.get("title")) for p in sheets) or "none"
            gid = self.sheet_options.url_gid
            wanted = (
                f"with gid {gid} (from the URL)"
                if gid is not None and "worksheet" not in self.sheet_options.model_fields_set
                else repr(self.sheet_options.worksheet)
            )
            raise SourceError(f"{api.label}: no worksheet {wanted}; its worksheets are: {names}")
        return str(found["title"])

    def _fetch(
        self, api: SheetsApi, title: str
    ) -> tuple[Sequence[Any], int, Callable[[Any], Sequence[str]] | None]:
        """The worksheet's rows, the sheet row number of the first, and how to read a row."""
        if not self.sheet_options.serial_dates:
            answer = api.values(title)
            return answer.get("values") or [], range_start_row(answer.get("range")), None
        answer = api.grid(title)
        sheets = answer.get("sheets") or [{}]
        data = (sheets[0].get("data") or [{}])[0]
        return data.get("rowData") or [], int(data.get("startRow", 0)) + 1, grid_cells


def _pick_worksheet(
    sheets: list[Mapping[str, Any]], options: GoogleSheetsOptions
) -> Mapping[str, Any] | None:
    """By index, by exact title, by title ignoring case and spaces, or by the URL's gid."""
    wanted = options.worksheet
    gid = options.url_gid
    if gid is not None and "worksheet" not in options.model_fields_set:
        return next((p for p in sheets if p.get("sheetId") == gid), None)
    if isinstance(wanted, int):
        return sheets[wanted] if wanted < len(sheets) else None
    exact = [p for p in sheets if p.get("title") == wanted]
    loose = [p for p in sheets if str(p.get("title", "")).strip().casefold() == wanted.strip().casefold()]
    found = exact or loose
    return found[0] if len(found) == 1 else None
