"""The Sheets v4 calls the source makes, through gspread, with retries and our errors.

Every call goes through :meth:`SheetsApi._call`: 429 and 5xx answers and dropped
connections are retried with exponential backoff (``Retry-After`` wins when Google sends
it), a bounded number of times; every gspread, google-auth and requests exception is
translated into a :class:`~sync.errors.SourceError` that names the spreadsheet and says
what the user can do about it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, TypeVar

import gspread
import requests
from google.auth.exceptions import RefreshError, TransportError
from gspread.exceptions import APIError
from gspread.utils import absolute_range_name

from sync.errors import SourceError

T = TypeVar("T")

_RETRIED = frozenset({429, 500, 502, 503, 504})
_METADATA_FIELDS = "properties.title,sheets.properties(sheetId,title,index)"
# One grid request that returns, per cell, the formatted text and (for date cells) the
# serial number: the only single call that can tell date cells from the others.
_GRID_FIELDS = (
    "sheets(properties(sheetId,title),data(startRow,rowData(values("
    "formattedValue,effectiveValue.numberValue,effectiveFormat.numberFormat.type))))"
)
_API_DISABLED = re.compile(r"has not been used|is disabled|SERVICE_DISABLED|API_DISABLED", re.IGNORECASE)


class SheetsApi:
    """One spreadsheet, reached through a gspread client, with retries and translated errors.

    Args:
        client: the gspread client (its HTTP session already signs requests).
        spreadsheet_id: the spreadsheet's id.
        source_name: the source's name, for messages.
        account_email: the service account's email, for "share it with …" advice.
        sleep: waits between retries (tests pass a recorder).
        attempts: tries per call, the first included.
        first_delay: seconds before the first retry; doubled each time, up to ``max_delay``.
    """

    def __init__(
        self,
        client: gspread.Client,
        spreadsheet_id: str,
        *,
        source_name: str,
        account_email: str,
        sleep: Callable[[float], None],
        attempts: int = 6,
        first_delay: float = 1.0,
        max_delay: float = 32.0,
    ) -> None:
        self.http = client.http_client
        self.spreadsheet_id = spreadsheet_id
        self.source_name = source_name
        self.title: str | None = None  # the spreadsheet's title, once the metadata is read
        self.account_email = account_email
        self.sleep = sleep
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay

    def metadata(self) -> Mapping[str, Any]:
        """The spreadsheet's title and its worksheets' properties (no cell data).

        From here on, messages name the spreadsheet by its title as well as its id.
        """
        found: Mapping[str, Any] = self._call(
            "read the spreadsheet's metadata",
            lambda: self.http.fetch_sheet_metadata(
                self.spreadsheet_id, params={"fields": _METADATA_FIELDS}
            ),
        )
        title = (found.get("properties") or {}).get("title")
        if title:
            self.title = str(title)
        return found

    @property
    def label(self) -> str:
        """How messages name the source and the spreadsheet (by title once it is known)."""
        if self.title is None:
            return f"source {self.source_name!r}, spreadsheet {self.spreadsheet_id}"
        return f"source {self.source_name!r}, spreadsheet {self.title!r} ({self.spreadsheet_id})"

    def values(self, title: str, a1: str | None = None) -> Mapping[str, Any]:
        """The formatted values of a worksheet (its whole used range when ``a1`` is None)."""
        params: dict[str, str | int | bool | float | list[str] | None] = {
            "valueRenderOption": "FORMATTED_VALUE",
            "majorDimension": "ROWS",
        }
        found: Mapping[str, Any] = self._call(
            f"read the worksheet {title!r}",
            lambda: self.http.values_get(
                self.spreadsheet_id, absolute_range_name(title, a1), params=params
            ),
        )
        return found

    def grid(self, title: str) -> Mapping[str, Any]:
        """A worksheet's cells with formatted text, number values and number-format types."""
        params: dict[str, str | int | bool | float | list[str] | None] = {
            "ranges": absolute_range_name(title),
            "includeGridData": "true",
            "fields": _GRID_FIELDS,
        }
        return self._call(
            f"read the worksheet {title!r}",
            lambda: self.http.fetch_sheet_metadata(self.spreadsheet_id, params=params),
        )

    def update_values(self, data: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
        """Write ranges in one ``values:batchUpdate``, as raw text (no formula or number parsing)."""
        # Retrying this is safe: writing the same texts into the same cells twice is once.
        body = {"valueInputOption": "RAW", "data": list(data)}
        found: Mapping[str, Any] = self._call(
            "write back to the spreadsheet",
            lambda: self.http.values_batch_update(self.spreadsheet_id, body=body),
        )
        return found

    def _call(self, doing: str, call: Callable[[], T]) -> T:
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                return call()
            except APIError as exc:
                status = exc.response.status_code
                if status in _RETRIED and not last:
                    self.sleep(self._delay(attempt, exc.response))
                    continue
                raise self._api_error(exc, status, doing, attempt) from exc
            except RefreshError as exc:
                # google-auth has already retried a token endpoint that was down.
                raise SourceError(
                    f"{self.label}: Google gave no access token to the service account "
                    f"{self.account_email} ({_short(exc)}); if its key was deleted or disabled, "
                    "create a new one"
                ) from exc
            except (TransportError, requests.RequestException) as exc:
                if not last:
                    self.sleep(self._delay(attempt, None))
                    continue
                raise SourceError(
                    f"{self.label}: cannot reach Google Sheets to {doing} after {attempt} "
                    f"attempts: {_short(exc)}"
                ) from exc
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _delay(self, attempt: int, response: requests.Response | None) -> float:
        """Google's Retry-After when it sends one, else 1, 2, 4 … seconds up to the cap."""
        if response is not None:
            after = response.headers.get("Retry-After", "")
            if after.strip().isdigit():
                return min(float(after), self.max_delay)
        return min(self.first_delay * 2.0 ** (attempt - 1), self.max_delay)

    def _api_error(self, exc: APIError, status: int, doing: str, attempts: int) -> SourceError:
        message = _google_message(exc)
        where = f"{self.label}: cannot {doing}"
        if status == HTTPStatus.NOT_FOUND:
            return SourceError(
                f"{where}: there is no spreadsheet with id {self.spreadsheet_id!r} (or it was "
                f"deleted); check `spreadsheet` (Google said: {message})"
            )
        if status == HTTPStatus.FORBIDDEN and _API_DISABLED.search(_error_text(exc)):
            return SourceError(
                f"{where}: the Google Sheets API is not enabled for the service account's "
                f"Cloud project; enable it in the Google Cloud console (Google said: {message})"
            )
        if status == HTTPStatus.FORBIDDEN:
            return SourceError(
                f"{where}: the spreadsheet is not shared with the service account; share it "
                f"with {self.account_email} (Viewer to read, Editor for write-back) "
                f"(Google said: {message})"
            )
        if status == HTTPStatus.UNAUTHORIZED:
            return SourceError(f"{where}: Google did not accept the service account's token: {message}")
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            return SourceError(
                f"{where}: the Google Sheets quota is exhausted (HTTP 429, still refused after "
                f"{attempts} attempts); wait a minute and run again, or raise the project's "
                f"Sheets API quota (Google said: {message})"
            )
        if status in _RETRIED:
            return SourceError(
                f"{where}: Google Sheets is unavailable (HTTP {status} after {attempts} attempts): {message}"
            )
        return SourceError(f"{where}: Google Sheets answered HTTP {status}: {message}")


def _google_message(exc: APIError) -> str:
    error = exc.error if isinstance(exc.error, Mapping) else {}
    message = error.get("message")
    return str(message) if message else f"HTTP {exc.response.status_code}"


def _error_text(exc: APIError) -> str:
    """Message, status and details of a Google error, to look for a reason in."""
    return f"{exc.error!r}"


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
