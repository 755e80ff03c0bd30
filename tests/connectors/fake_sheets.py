"""A fake Google Sheets v4 API and OAuth token endpoint, behind a real ``requests`` session.

:class:`FakeSheets` is a ``requests`` transport adapter: mount it on a session and
gspread's and google-auth's real code talks to it as it would to Google. It keeps
spreadsheets in memory (id -> title, worksheets, a grid of formatted strings, which
service accounts it is shared with and how), checks the service account's signed JWT
and the bearer token and scope of every call, answers the routes gspread 6 uses for a
read and a write-back, records every request, and fails on demand with Google's error
JSON (403, 404, 429 N times then success, ...). Any other URL raises ConnectionError, so
no test can reach the network.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt
from requests.adapters import BaseAdapter, HTTPAdapter
from urllib3 import HTTPResponse

TOKEN_URL = "https://oauth2.googleapis.com/token"
SHEETS_PREFIX = "/v4/spreadsheets/"
SCOPE_READONLY = "https://www.googleapis.com/auth/spreadsheets.readonly"
SCOPE_READWRITE = "https://www.googleapis.com/auth/spreadsheets"
_STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
_A1_END = re.compile(r"^([A-Za-z]*)(\d*)$")


@cache
def _key_pair(email: str) -> tuple[str, str]:
    """A throwaway RSA key for an account (private PEM, public PEM), made once per run.

    1024 bits: loading a key checks it, and that takes ten times longer at 2048.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505  # a test key
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


def service_account_info(email: str = "sync-bot@test-project.iam.gserviceaccount.com") -> dict[str, str]:
    """A service-account key document as Google issues it, with a fresh throwaway key."""
    private, _ = _key_pair(email)
    return {
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "0123456789abcdef",
        "private_key": private,
        "client_email": email,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": TOKEN_URL,
    }


@dataclass
class FakeWorksheet:
    """One tab: a grid of formatted strings from A1, and which cells are date-typed."""

    title: str
    sheet_id: int
    rows: list[list[str]]
    date_serials: dict[tuple[int, int], float] = field(default_factory=dict)  # (row, col) 1-based

    def cell(self, row: int, col: int) -> str:
        """The formatted text of a 1-based cell ("" when empty or outside the data)."""
        if row <= len(self.rows) and col <= len(self.rows[row - 1]):
            return self.rows[row - 1][col - 1]
        return ""

    def put(self, row: int, col: int, text: str) -> None:
        """Set a 1-based cell, growing the grid as Sheets does."""
        while len(self.rows) < row:
            self.rows.append([])
        line = self.rows[row - 1]
        line.extend([""] * (col - len(line)))
        line[col - 1] = text

    @property
    def extent(self) -> tuple[int, int]:
        """The grid size Sheets reports: at least 1000 x 26, or the data's."""
        width = max((len(r) for r in self.rows), default=0)
        return max(1000, len(self.rows)), max(26, width)


@dataclass
class FakeSpreadsheet:
    """A spreadsheet: title, tabs, and who it is shared with (email -> reader/writer)."""

    id: str
    title: str
    worksheets: list[FakeWorksheet]
    shared_with: dict[str, str]

    def worksheet(self, title: str) -> FakeWorksheet | None:
        """The tab with this exact title."""
        return next((w for w in self.worksheets if w.title == title), None)


@dataclass
class Recorded:
    """One request the fake received, and its answer's status."""

    method: str
    route: str
    path: str
    params: dict[str, list[str]]
    body: Any
    status: int = 0


@dataclass
class _Failure:
    route: str
    status: int
    times: int
    message: str | None
    headers: dict[str, str]


class FakeSheets(BaseAdapter):
    """The fake backend; see the module docstring. Mount with :meth:`session`."""

    def __init__(self) -> None:
        super().__init__()
        self.spreadsheets: dict[str, FakeSpreadsheet] = {}
        self.accounts: dict[str, str] = {}  # email -> public key PEM
        self.tokens: dict[str, tuple[str, set[str]]] = {}  # token -> (email, scopes)
        self.log: list[Recorded] = []
        self._failures: list[_Failure] = []
        self._builder = HTTPAdapter()

    # --- setting up -------------------------------------------------------------------
    def add_account(self, email: str = "sync-bot@test-project.iam.gserviceaccount.com") -> dict[str, str]:
        """Register a service account; returns its JSON key document."""
        self.accounts[email] = _key_pair(email)[1]
        return service_account_info(email)

    def add_spreadsheet(
        self,
        spreadsheet_id: str,
        worksheets: Mapping[str, Sequence[Sequence[str]]],
        *,
        title: str = "Team contacts",
        shared_with: Mapping[str, str] | None = None,
    ) -> FakeSpreadsheet:
        """Add a spreadsheet whose tabs hold these rows (row 1 first), shared as given."""
        tabs = [
            FakeWorksheet(name, 1000 + i * 7, [list(row) for row in rows])
            for i, (name, rows) in enumerate(worksheets.items())
        ]
        sheet = FakeSpreadsheet(spreadsheet_id, title, tabs, dict(shared_with or {}))
        self.spreadsheets[spreadsheet_id] = sheet
        return sheet

    def fail(
        self, route: str, status: int, *, times: int = 1, message: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests to ``route`` with a Google error of ``status``.

        Routes: ``token``, ``metadata``, ``grid``, ``values``, ``batch_update``. A
        ``status`` of 0 drops the connection instead (``requests.ConnectionError``).
        """
        self._failures.append(_Failure(route, status, times, message, dict(headers or {})))

    def session(self) -> requests.Session:
        """A real ``requests.Session`` whose every request this fake answers."""
        session = requests.Session()
        session.mount("https://", self)
        session.mount("http://", self)
        return session

    def calls(self, route: str) -> list[Recorded]:
        """The recorded requests to a route."""
        return [r for r in self.log if r.route == route]

    # --- the transport-adapter interface ----------------------------------------------
    def send(
        self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
        verify: Any = True, cert: Any = None, proxies: Any = None,
    ) -> requests.Response:
        """Answer one request as Google would."""
        url = urlsplit(request.url or "")
        if url.scheme != "https" or url.netloc not in {"oauth2.googleapis.com", "sheets.googleapis.com"}:
            raise requests.ConnectionError(f"fake network: {request.url} is not served here")
        params = parse_qs(url.query, keep_blank_values=True)
        route, parts = _route(request.method or "", url.netloc, url.path, params)
        body = _body(request)
        record = Recorded(request.method or "", route, unquote(url.path), params, body)
        self.log.append(record)
        status, payload, headers = self._answer(request, route, parts, params, body)
        record.status = status
        return self._response(request, status, payload, headers)

    def close(self) -> None:
        """Nothing to release; the response builder's pool is empty."""
        self._builder.close()

    # --- answering --------------------------------------------------------------------
    def _answer(
        self, request: requests.PreparedRequest, route: str, parts: list[str],
        params: dict[str, list[str]], body: Any,
    ) -> tuple[int, Any, dict[str, str]]:
        failure = next((f for f in self._failures if f.route == route and f.times > 0), None)
        if failure is not None:
            failure.times -= 1
            if failure.status == 0:
                raise requests.ConnectionError("fake network: connection reset by peer")
            return failure.status, _error(failure.status, failure.message), failure.headers
        if route == "token":
            return self._token(body)
        if route == "unknown":
            return 404, _error(404, "fake: no such route"), {}
        authorization = str(request.headers.get("Authorization", ""))
        caller = self.tokens.get(authorization.removeprefix("Bearer "))
        if caller is None:
            return 401, _error(401, "Request had invalid authentication credentials."), {}
        sheet = self.spreadsheets.get(parts[0])
        if sheet is None:
            return 404, _error(404, "Requested entity was not found."), {}
        email, scopes = caller
        role = sheet.shared_with.get(email)
        if role is None:
            return 403, _error(403, "The caller does not have permission"), {}
        if route == "batch_update":
            if SCOPE_READWRITE not in scopes:
                return 403, _error(403, "Request had insufficient authentication scopes."), {}
            if role != "writer":
                return 403, _error(403, "The caller does not have permission"), {}
            return self._batch_update(sheet, body)
        if route == "values":
            return self._values(sheet, parts[1])
        if route == "grid":
            return self._grid(sheet, params)
        return 200, _metadata(sheet), {}

    def _token(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        form = body if isinstance(body, dict) else {}
        assertion = (form.get("assertion") or [""])[0]
        try:
            # google-auth ships no annotations for jwt.decode.
            claims = jwt.decode(assertion, verify=False)  # type: ignore[no-untyped-call]
            public = self.accounts[claims["iss"]]
            claims = jwt.decode(assertion, certs=public, audience=TOKEN_URL)  # type: ignore[no-untyped-call]
        except (ValueError, KeyError):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, {}
        token = f"fake-token-{len(self.tokens) + 1}"
        self.tokens[token] = (claims["iss"], set(str(claims.get("scope", "")).split()))
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}, {}

    def _values(self, sheet: FakeSpreadsheet, a1: str) -> tuple[int, Any, dict[str, str]]:
        found = _resolve(sheet, a1)
        if isinstance(found, str):
            return 400, _error(400, found), {}
        tab, (top, left, bottom, right) = found
        width = max((len(r) for r in tab.rows), default=0)
        rows = [[tab.cell(r, c) for c in range(left, min(right, width) + 1)]
                for r in range(top, min(bottom, len(tab.rows)) + 1)]
        for row in rows:
            while row and row[-1] == "":
                row.pop()
        while rows and not rows[-1]:
            rows.pop()
        answer: dict[str, Any] = {"range": _a1(tab.title, top, left, bottom, right), "majorDimension": "ROWS"}
        if rows:
            answer["values"] = rows
        return 200, answer, {}

    def _grid(self, sheet: FakeSpreadsheet, params: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        found = _resolve(sheet, (params.get("ranges") or [""])[0])
        if isinstance(found, str):
            return 400, _error(400, found), {}
        tab, (top, left, bottom, right) = found
        last = min(bottom, len(tab.rows))
        row_data = [
            {"values": [_grid_cell(tab, r, c) for c in range(left, min(right, len(tab.rows[r - 1])) + 1)]}
            for r in range(top, last + 1)
        ]
        data = {"startRow": top - 1, "startColumn": left - 1, "rowData": row_data}
        return 200, {"sheets": [{"properties": {"sheetId": tab.sheet_id, "title": tab.title},
                                 "data": [data]}]}, {}

    def _batch_update(self, sheet: FakeSpreadsheet, body: Any) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict) or body.get("valueInputOption") not in {"RAW", "USER_ENTERED"}:
            return 400, _error(400, "Invalid valueInputOption"), {}
        cells = 0
        for item in body.get("data", []):
            found = _resolve(sheet, item["range"])
            if isinstance(found, str):
                return 400, _error(400, found), {}
            tab, (top, left, _, _) = found
            for i, row in enumerate(item["values"]):
                for j, text in enumerate(row):
                    tab.put(top + i, left + j, str(text))
                    cells += 1
        return 200, {"spreadsheetId": sheet.id, "totalUpdatedCells": cells}, {}

    def _response(
        self, request: requests.PreparedRequest, status: int, payload: Any, headers: Mapping[str, str]
    ) -> requests.Response:
        raw = HTTPResponse(
            body=io.BytesIO(json.dumps(payload).encode()),
            headers={"Content-Type": "application/json; charset=UTF-8", **headers},
            status=status,
            reason=HTTPStatus(status).phrase,
            preload_content=False,
        )
        return self._builder.build_response(request, raw)


def _route(method: str, host: str, path: str, params: dict[str, list[str]]) -> tuple[str, list[str]]:
    if host == "oauth2.googleapis.com":
        return ("token", []) if method == "POST" and path == "/token" else ("unknown", [])
    if not path.startswith(SHEETS_PREFIX):
        return "unknown", []
    rest = path[len(SHEETS_PREFIX):]
    if method == "POST" and rest.endswith("/values:batchUpdate"):
        return "batch_update", [unquote(rest.removesuffix("/values:batchUpdate"))]
    if method == "GET" and "/values/" in rest:
        sheet_id, _, a1 = rest.partition("/values/")
        return "values", [unquote(sheet_id), unquote(a1)]
    if method == "GET" and "/" not in rest:
        grid = (params.get("includeGridData") or ["false"])[0] == "true" or "data(" in "".join(
            params.get("fields", [])
        )
        return ("grid" if grid else "metadata"), [unquote(rest)]
    return "unknown", []


def _body(request: requests.PreparedRequest) -> Any:
    raw = request.body
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    if "json" in str(request.headers.get("Content-Type", "")):
        return json.loads(text)
    return parse_qs(text)


def _error(status: int, message: str | None) -> dict[str, Any]:
    return {"error": {"code": status, "message": message or HTTPStatus(status).phrase,
                      "status": _STATUS_NAMES.get(status, "UNKNOWN")}}


def _metadata(sheet: FakeSpreadsheet) -> dict[str, Any]:
    return {
        "spreadsheetId": sheet.id,
        "properties": {"title": sheet.title, "locale": "en_US", "timeZone": "America/Los_Angeles"},
        "sheets": [
            {"properties": {"sheetId": w.sheet_id, "title": w.title, "index": i, "sheetType": "GRID",
                            "gridProperties": {"rowCount": w.extent[0], "columnCount": w.extent[1]}}}
            for i, w in enumerate(sheet.worksheets)
        ],
    }


def _grid_cell(tab: FakeWorksheet, row: int, col: int) -> dict[str, Any]:
    text = tab.cell(row, col)
    serial = tab.date_serials.get((row, col))
    if serial is not None:
        return {"formattedValue": text, "effectiveValue": {"numberValue": serial},
                "effectiveFormat": {"numberFormat": {"type": "DATE"}}}
    return {"formattedValue": text, "effectiveValue": {"stringValue": text}} if text else {}


def _resolve(sheet: FakeSpreadsheet, a1: str) -> tuple[FakeWorksheet, tuple[int, int, int, int]] | str:
    """An A1 range (``'Tab'``, ``'Tab'!B2:D9``, ``'Tab'!3:3``) as a tab and 1-based bounds."""
    name, _, cells = a1.partition("!") if not a1.startswith("'") else _split_quoted(a1)
    tab = sheet.worksheet(name)
    if tab is None:
        return f"Unable to parse range: {a1}"
    rows, cols = tab.extent
    if not cells:
        return tab, (1, 1, rows, cols)
    first, _, last = cells.partition(":")
    start, end = _A1_END.match(first), _A1_END.match(last or first)
    if start is None or end is None:
        return f"Unable to parse range: {a1}"
    top, left = int(start.group(2) or 1), _column(start.group(1)) or 1
    bottom, right = int(end.group(2) or rows), _column(end.group(1)) or cols
    return tab, (top, left, bottom, right)


def _split_quoted(a1: str) -> tuple[str, str, str]:
    closing = 1
    while True:
        closing = a1.index("'", closing)
        if a1[closing + 1:closing + 2] == "'":
            closing += 2
            continue
        break
    name = a1[1:closing].replace("''", "'")
    return name, "!", a1[closing + 2:]


def _column(letters: str) -> int:
    number = 0
    for char in letters.upper():
        number = number * 26 + ord(char) - 64
    return number


def _letters(col: int) -> str:
    text = ""
    while col:
        col, rest = divmod(col - 1, 26)
        text = chr(65 + rest) + text
    return text


def _a1(title: str, top: int, left: int, bottom: int, right: int) -> str:
    name = title if re.fullmatch(r"[A-Za-z0-9_]+", title) else "'" + title.replace("'", "''") + "'"
    return f"{name}!{_letters(left)}{top}:{_letters(right)}{bottom}"
