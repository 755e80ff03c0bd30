"""Custom-field coercion: a raw source value becomes the JSON value the API accepts.

:func:`coerce_value` is pure. It takes a field type, a raw value as a source gave it
(text from CSV and Sheets; ``int``, ``Decimal``, ``float``, ``bool``, ``date`` and
``datetime`` from SQL) and the field's :class:`CoerceOptions`. It returns the JSON value to
send, ``None`` for "no value", or raises :class:`CoercionError`. That error is Skippable:
the value is left out and reported, and the contact still syncs.

For every type, ``None``, ``""`` and whitespace-only text mean "no value", and binary data
(``bytes``) is rejected. Per type:

- ``string``: trimmed text. Other values print plainly: booleans as ``"true"``/``"false"``,
  integers and ``Decimal`` without an exponent (``Decimal("1.50")`` stays ``"1.50"``),
  whole floats without ``.0``, dates and times in ISO 8601, UUIDs in their usual form.
- ``address``: like ``string``, but keeps its inner line breaks. Any line break becomes
  ``\\n``, trailing spaces are cut from each line, and blank lines at either end go.
- ``url``: an absolute ``http``/``https`` URL, without spaces, whose host has a dot, is
  ``localhost`` or is an IP address. A bare ``example.com/path`` gets ``https://`` only
  when ``assume_https`` is set. Other schemes (``ftp:``, ``javascript:``) are rejected.
- ``boolean``: true/false, t/f (PostgreSQL's text form), yes/no, y/n, 1/0, x,
  checked/unchecked and on/off, in any case. Also ``bool`` and the numbers 0 and 1.
  An empty cell is no value, not ``False``.
- ``number``: ``int`` and finite ``float`` pass through. An integral ``Decimal`` becomes
  an ``int``; any other ``Decimal`` becomes the nearest ``float``, because JSON numbers
  are read as IEEE doubles, so that is all the precision the API keeps. Text may carry a
  leading ``+``/``-``, one currency symbol (``$ € £``) at either end, the declared decimal
  separator, and thousands separators in groups of 3. With ``decimal="."`` those are
  ``,`` ``_`` and spaces (including no-break and thin spaces); with ``decimal=","`` they are
  ``.`` and spaces. Text goes through the ``Decimal`` rule, so ``"42.00"`` is ``42``.
  Rejected: percentages, exponents (``1e5``), NaN, infinities, ``bool``, other text, and
  magnitudes a double cannot hold.
- ``date``: an ISO 8601 date-time in UTC with milliseconds, e.g.
  ``"2024-09-11T04:00:00.000Z"``. Accepted inputs:

  * ISO dates and date-times (``T`` or a space, optional seconds and fraction, ``Z`` or
    an offset).
  * ``date`` and ``datetime`` objects.
  * Text in the declared ``format`` (``strptime``).
  * Spreadsheet serial day numbers, only when ``serial`` is set. Their epoch is
    1899-12-30 and the fraction is the time of day. This is Sheets' count, and Excel's
    from 1900-03-01 on.
  * Without a declared ``format``, English month-name dates such as ``"March 4, 2024"``,
    ``"4 Mar 2024"`` and ``"4-Mar-2024"``. A month name is unambiguous, so these are read
    with an explicit table of names, never the locale.

  Text is tried in that order: ISO, the format, serial numbers, month names. A date with
  no time means midnight. Naive values are wall-clock times in ``timezone``
  (UTC by default). Numeric dates such as ``03/04/2024`` are never guessed: without a
  ``format`` they are rejected with a message asking for one. Sub-millisecond digits are
  cut off.
- ``multi-select``: text is split on ``separator``. Each item is trimmed, empty items are
  dropped, and duplicates (same text after trimming) are removed, keeping the first. A
  list or tuple gives the items directly. No items means no value.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Literal
from urllib.parse import urlsplit
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync.errors import ConfigError, Skippable, SyncError
from sync.models import JsonValue

FieldType = Literal["string", "address", "url", "boolean", "number", "date", "multi-select"]
FIELD_TYPES: tuple[FieldType, ...] = (
    "string", "address", "url", "boolean", "number", "date", "multi-select",
)  # fmt: skip


class CoercionError(SyncError, Skippable):
    """A raw value that does not fit its custom field's type.

    Attributes:
        reason: what is wrong and how to fix it, written for a person.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CoerceOptions:
    """How one field's raw values are read.

    Invalid options raise :class:`~sync.errors.ConfigError` when the object is built.
    They are config mistakes, not bad values.

    Attributes:
        format: ``strptime`` format for dates, e.g. ``"%d/%m/%Y"``.
        separator: multi-select item separator.
        decimal: number decimal separator, ``"."`` or ``","``.
        serial: the date column holds Excel/Sheets serial day numbers.
        assume_https: a URL without a scheme gets ``https://``.
        timezone: IANA zone name for naive dates and datetimes (default UTC).
    """

    format: str | None = None
    separator: str = ";"
    decimal: str = "."
    serial: bool = False
    assume_https: bool = False
    timezone: str | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.decimal not in (".", ","):
            problems.append(f'decimal must be "." or ",", not {self.decimal!r}')
        if not self.separator:
            problems.append("separator must not be empty")
        if self.format is not None:
            problems.extend(_format_problems(self.format))
        if self.timezone is not None and _zone_or_none(self.timezone) is None:
            problems.append(
                f'timezone {self.timezone!r} is not an IANA time zone name (e.g. "Europe/Berlin")'
            )
        if problems:
            raise ConfigError(problems)

    @property
    def zone(self) -> tzinfo:
        """The zone naive dates and datetimes are in."""
        return (_zone_or_none(self.timezone) if self.timezone else None) or UTC


def coerce_value(
    field_type: FieldType, raw: object, options: CoerceOptions = CoerceOptions()
) -> JsonValue | None:
    """Turn one raw source value into the JSON value for a custom field of ``field_type``.

    Returns:
        The value to send, or ``None`` for "no value".

    Raises:
        CoercionError: the value does not fit the type (the reason says why and what to do).
    """
    coerce = _COERCERS.get(field_type)
    if coerce is None:
        raise CoercionError(_unknown_type_reason(field_type))
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bytes | bytearray | memoryview):
        raise CoercionError(f"binary data cannot be stored in {_a_field(field_type)}")
    return coerce(raw, options)


def parse_field_type(text: str) -> FieldType:
    """The field type named by ``text`` (any case; ``multi_select`` and ``multiselect`` too).

    Raises:
        CoercionError: ``text`` names no custom field type.
    """
    wanted = text.strip().lower().replace("_", "-").replace(" ", "-")
    wanted = "multi-select" if wanted == "multiselect" else wanted
    for field_type in FIELD_TYPES:
        if field_type == wanted:
            return field_type
    raise CoercionError(_unknown_type_reason(text))


def _unknown_type_reason(name: object) -> str:
    return f"unknown custom field type {name!r}; known types: {', '.join(FIELD_TYPES)}"


def _show(raw: object) -> str:
    """The raw value as a reason quotes it: trimmed, and cut short when long."""
    text = raw.strip() if isinstance(raw, str) else str(raw)
    text = text if len(text) <= 60 else text[:57] + "..."
    return repr(text) if isinstance(raw, str) else text


def _kind(raw: object) -> str:
    return type(raw).__name__


def _a_field(field_type: str) -> str:
    return f"{'an' if field_type == 'address' else 'a'} {field_type} field"


# --- options -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _zone_or_none(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _format_problems(fmt: str) -> list[str]:
    """Problems with a date format, found by writing a sample date and reading it back."""
    if "%" not in fmt:
        return [f'format {fmt!r} has no % directives (e.g. "%d/%m/%Y")']
    sample = datetime(2024, 9, 11, 13, 45, 30, tzinfo=UTC)
    try:
        datetime.strptime(sample.strftime(fmt), fmt)  # noqa: DTZ007  only checks the format
    except ValueError as exc:
        return [f"format {fmt!r} cannot be used to read dates: {exc}"]
    return []


# --- string, address -----------------------------------------------------------------------


def _plain_text(raw: object, field_type: str) -> str:
    """A non-empty value as plain text, trimmed."""
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int):
        return _int_text(raw, field_type)
    if isinstance(raw, float) and math.isfinite(raw):
        return str(int(raw)) if raw.is_integer() and abs(raw) < 1e16 else repr(raw)
    if isinstance(raw, Decimal) and raw.is_finite():
        return format(raw, "f") if abs(raw.adjusted()) <= 40 else str(raw)
    if isinstance(raw, date | time):
        return raw.isoformat()
    if isinstance(raw, UUID):
        return str(raw)
    if isinstance(raw, bytes | bytearray | memoryview):
        raise CoercionError(f"binary data cannot be stored in {_a_field(field_type)}")
    raise CoercionError(
        f"a {_kind(raw)} value ({_show(raw)}) cannot be stored in {_a_field(field_type)}"
    )


def _int_text(raw: int, field_type: str) -> str:
    try:
        return str(raw)
    except ValueError as exc:  # more digits than Python converts to text
        raise CoercionError(f"the number is too long for a {field_type} field") from exc


def _coerce_string(raw: object, options: CoerceOptions) -> JsonValue:
    return _plain_text(raw, "string")


def _coerce_address(raw: object, options: CoerceOptions) -> JsonValue:
    text = _plain_text(raw, "address")
    return "\n".join(line.rstrip() for line in text.splitlines())


# --- url -----------------------------------------------------------------------------------

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(?![0-9])")  # "host:8080" is not a scheme
_HOST_LABEL = re.compile(r"(?!-)[\w-]{1,63}(?<!-)")


def _coerce_url(raw: object, options: CoerceOptions) -> JsonValue:
    if not isinstance(raw, str):
        raise CoercionError(f"a {_kind(raw)} value ({_show(raw)}) is not a URL")
    text = raw.strip()
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise CoercionError(f"{_show(text)} is not a URL: it contains spaces or control characters")
    scheme = _SCHEME.match(text)
    if scheme is not None:
        if scheme.group(1).lower() not in ("http", "https"):
            raise CoercionError(
                f"{_show(text)} is not a web address: only http:// and https:// URLs"
            )
        _require_valid_host(text, text[scheme.end() :].startswith("//"))
        return text
    with_scheme = "https://" + text.removeprefix("//")
    _require_valid_host(with_scheme, True, shown=text)
    if not options.assume_https:
        raise CoercionError(
            f"{_show(text)} has no scheme; write it as {with_scheme!r} "
            "or set assume_https for this field"
        )
    return with_scheme


def _require_valid_host(url: str, has_authority: bool, shown: str | None = None) -> None:
    problem = _host_problem(url) if has_authority else "it has no host after the scheme"
    if problem is not None:
        raise CoercionError(f"{_show(shown or url)} is not a URL: {problem}")


def _host_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port  # .port raises on a bad port
    except ValueError as exc:
        return str(exc)
    if not host:
        return "it has no host"
    if host == "localhost" or _is_ip_address(host):
        return None
    labels = host.removesuffix(".").split(".")
    if len(labels) < 2:
        return f"the host {host!r} has no dot"
    if not all(_HOST_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        return f"{host!r} is not a valid host name"
    return None


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- boolean -------------------------------------------------------------------------------

_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "x", "checked", "on"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "unchecked", "off"})
_BOOLEAN_HELP = "true/false, yes/no, y/n, 1/0, x (or empty), checked/unchecked, on/off"


def _coerce_boolean(raw: object, options: CoerceOptions) -> JsonValue:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) or (isinstance(raw, Decimal) and raw.is_finite()):
        if raw in (0, 1):
            return raw == 1
    elif isinstance(raw, str):
        word = raw.strip().casefold()
        if word in _TRUE_WORDS or word in _FALSE_WORDS:
            return word in _TRUE_WORDS
    raise CoercionError(f"{_show(raw)} is not a yes/no value; use one of {_BOOLEAN_HELP}")


# --- number --------------------------------------------------------------------------------

_CURRENCY = "$€£"
_SPACES = " \u00a0\u2009\u202f"  # space, no-break space, thin space, narrow no-break space
_THOUSANDS = {".": ",_" + _SPACES, ",": "." + _SPACES}
_ASCII_DIGITS = re.compile(r"[0-9]+")
_MAX_DOUBLE = Decimal(sys.float_info.max)


def _coerce_number(raw: object, options: CoerceOptions) -> JsonValue:
    if isinstance(raw, bool):
        raise CoercionError(f"{raw} is a yes/no value, not a number")
    if isinstance(raw, int):
        if abs(raw) > _MAX_DOUBLE:
            raise CoercionError(f"{_show(raw)} is too large for a JSON number")
        return raw
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise CoercionError(f"{raw} is not a finite number")
        return raw
    if isinstance(raw, Decimal):
        return _decimal_to_json(raw, _show(raw))
    if isinstance(raw, str):
        return _decimal_to_json(_parse_number_text(raw.strip(), options.decimal), _show(raw))
    raise CoercionError(f"a {_kind(raw)} value ({_show(raw)}) is not a number")


def _decimal_to_json(value: Decimal, shown: str) -> int | float:
    if not value.is_finite():
        raise CoercionError(f"{shown} is not a finite number")
    if abs(value) > _MAX_DOUBLE:
        raise CoercionError(f"{shown} is too large for a JSON number")
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    if as_float == 0.0:  # non-integral, so not zero: the double underflowed
        raise CoercionError(f"{shown} is too small for a JSON number (it would become 0)")
    return as_float


def _parse_number_text(text: str, decimal: str) -> Decimal:
    shown = _show(text)
    if "%" in text:
        raise CoercionError(f"{shown}: percentages are not accepted; write 0.15 for 15%")
    sign, body = _split_sign_and_currency(text.replace("\u2212", "-"))
    int_part, point, fraction = body.partition(decimal)
    if (point and not _ASCII_DIGITS.fullmatch(fraction)) or not (int_part or point):
        raise _not_a_number(shown, decimal)
    digits = _ungrouped_digits(int_part, decimal, shown) if int_part else "0"
    return Decimal(f"{sign}{digits}.{fraction}" if point else f"{sign}{digits}")


def _split_sign_and_currency(text: str) -> tuple[str, str]:
    """Take off a leading sign and one currency symbol (front, either order, or back)."""
    sign, currency, body = "", False, text
    for _ in range(2):
        if body[:1] in ("+", "-") and not sign:
            sign, body = body[0], body[1:].lstrip()
        elif body[:1] and body[0] in _CURRENCY and not currency:
            currency, body = True, body[1:].lstrip()
    if body[-1:] and body[-1] in _CURRENCY and not currency:
        body = body[:-1].rstrip()
    return sign, body


def _ungrouped_digits(int_part: str, decimal: str, shown: str) -> str:
    used = {ch for ch in int_part if ch in _THOUSANDS[decimal]}
    if len(used) > 1:
        raise CoercionError(f"{shown} is not a number: it mixes thousands separators")
    separator = used.pop() if used else None
    groups = int_part.split(separator) if separator else [int_part]
    if not all(_ASCII_DIGITS.fullmatch(group) for group in groups):
        raise _not_a_number(shown, decimal)
    if separator and (len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:])):
        hint = f' (if {separator!r} is the decimal separator, set decimal = "{separator}")'
        raise CoercionError(
            f"{shown} is not a number: digits after the thousands separator {separator!r} "
            f"must come in groups of 3{hint if separator in '.,' else ''}"
        )
    return "".join(groups)


def _not_a_number(shown: str, decimal: str) -> CoercionError:
    return CoercionError(
        f"{shown} is not a number (this field reads {decimal!r} as the decimal separator)"
    )


# --- date ----------------------------------------------------------------------------------

_ISO = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?"
)
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+([.,][0-9]+)?")
_NUMERIC_DATE = re.compile(r"([0-9]{1,4})([./-])([0-9]{1,2})\2([0-9]{1,4})")
_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_MONTHS = {
    **{name: number for number, name in enumerate(_MONTH_NAMES, 1)},
    **{name[:3]: number for number, name in enumerate(_MONTH_NAMES, 1)},
    "sept": 9,
}
_DAY = r"(?P<day>[0-9]{1,2})(?:st|nd|rd|th)?"
_MONTH = r"(?P<month>[a-z]+)\.?"
_YEAR = r"(?P<year>[0-9]{4})"
_NAMED_DATES = (
    re.compile(rf"{_MONTH}[ -]+{_DAY},?[ -]+{_YEAR}", re.IGNORECASE),  # March 4, 2024
    re.compile(rf"{_DAY}[ -]+{_MONTH},?[ -]+{_YEAR}", re.IGNORECASE),  # 4 Mar 2024
)
_SERIAL_EPOCH = datetime.combine(date(1899, 12, 30), time())  # wall-clock, like the cell
_SERIAL_DAYS = (Decimal(-693593), Decimal(2958466))  # 0001-01-01 up to 9999-12-31 inclusive


def _coerce_date(raw: object, options: CoerceOptions) -> JsonValue:
    if isinstance(raw, datetime):
        return _utc_text(raw, options.zone, _show(raw))
    if isinstance(raw, date):
        return _utc_text(datetime.combine(raw, time()), options.zone, _show(raw))
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        if not options.serial:
            raise CoercionError(_number_is_not_a_date(_show(raw)))
        return _utc_text(_from_serial(raw), options.zone, _show(raw))
    if isinstance(raw, str):
        return _utc_text(_parse_date_text(raw.strip(), options), options.zone, _show(raw))
    raise CoercionError(f"a {_kind(raw)} value ({_show(raw)}) is not a date")


def _utc_text(moment: datetime, zone: tzinfo, shown: str) -> str:
    """``moment`` in UTC as the API writes it; a naive ``moment`` is wall-clock in ``zone``."""
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=zone)
    try:
        utc = moment.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise CoercionError(f"{shown} is outside the years 1 to 9999 in UTC") from exc
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )


def _from_serial(days: int | float | Decimal) -> datetime:
    shown, exact = _show(days), Decimal(days)
    if not exact.is_finite():
        raise CoercionError(f"{shown} is not a serial day number")
    if not _SERIAL_DAYS[0] <= exact < _SERIAL_DAYS[1]:
        raise CoercionError(f"{shown} is outside the serial day numbers of the years 1 to 9999")
    try:
        return _SERIAL_EPOCH + timedelta(milliseconds=round(exact * 86_400_000))
    except OverflowError as exc:  # rounding pushed the last millisecond past 9999-12-31
        raise CoercionError(f"{shown} is outside the years 1 to 9999") from exc


def _parse_date_text(text: str, options: CoerceOptions) -> datetime:
    """Read date text: ISO 8601, then the declared format, then serial numbers, then names."""
    if _ISO.fullmatch(text):
        try:
            return datetime.fromisoformat(text)
        except ValueError as exc:
            raise CoercionError(f"{_show(text)} is not a valid date ({exc})") from exc
    format_error = None
    if options.format is not None:
        try:
            return datetime.strptime(text, options.format)  # noqa: DTZ007  naive: field's zone
        except ValueError as exc:
            format_error = exc
    plain_number = _PLAIN_NUMBER.fullmatch(text) is not None
    if options.serial and plain_number:
        return _from_serial(Decimal(text.replace(",", ".")))
    if plain_number:
        raise CoercionError(_number_is_not_a_date(_show(text))) from format_error
    if options.format is not None:
        raise CoercionError(
            _format_mismatch_reason(text, options.format, format_error)
        ) from format_error
    named = _parse_month_name_date(text)
    if named is not None:
        return named
    raise CoercionError(_unreadable_date_reason(text))


def _format_mismatch_reason(text: str, fmt: str, error: ValueError | None) -> str:
    detail = str(error)
    if detail.startswith(("time data", "unconverted data")):
        return f"{_show(text)} does not match the date format {fmt!r} set for this field"
    return f"{_show(text)} is not a valid date ({detail})"


def _parse_month_name_date(text: str) -> datetime | None:
    for pattern in _NAMED_DATES:
        match = pattern.fullmatch(text)
        month = _MONTHS.get(match.group("month").lower()) if match else None
        if match and month:
            try:
                day = date(int(match.group("year")), month, int(match.group("day")))
            except ValueError as exc:
                raise CoercionError(f"{_show(text)} is not a valid date ({exc})") from exc
            return datetime.combine(day, time())
    return None


def _number_is_not_a_date(shown: str) -> str:
    return (
        f"{shown} is a number, not a date; if this column holds spreadsheet serial day "
        "numbers, set serial = true for this field"
    )


def _unreadable_date_reason(text: str) -> str:
    numeric = _NUMERIC_DATE.fullmatch(text)
    if numeric is None:
        return (
            f"{_show(text)} is not a date; write it in ISO 8601 (2024-09-11 or "
            "2024-09-11T14:30:00Z) or set format for this field"
        )
    first, sep, second, last = numeric.groups()
    year = "%Y" if len(last) == 4 else "%y"
    if len(first) == 4:
        return f'{_show(text)} is not ISO 8601; set format for this field (e.g. "%Y{sep}%m{sep}%d")'
    if int(first) > 12 or int(second) > 12:
        day_first = int(first) > 12
        order = ("%d", "%m") if day_first else ("%m", "%d")
        fmt = f"{order[0]}{sep}{order[1]}{sep}{year}"
        return f'{_show(text)} is not ISO 8601; set format for this field (e.g. "{fmt}")'
    return (
        f'{_show(text)} is ambiguous; set format for this field (e.g. "%d{sep}%m{sep}{year}" '
        f'for day first, "%m{sep}%d{sep}{year}" for month first)'
    )


# --- multi-select --------------------------------------------------------------------------


def _coerce_multi_select(raw: object, options: CoerceOptions) -> JsonValue:
    if isinstance(raw, str):
        pieces = raw.split(options.separator)
    elif isinstance(raw, list | tuple):
        pieces = [_item_text(item) for item in raw if item is not None]
    else:
        pieces = [_plain_text(raw, "multi-select")]
    items = list(dict.fromkeys(piece.strip() for piece in pieces if piece.strip()))
    return items or None


def _item_text(item: object) -> str:
    if isinstance(item, list | tuple | dict | set | frozenset):
        raise CoercionError("a multi-select item cannot itself hold several values")
    return _plain_text(item, "multi-select")


_Coercer = Callable[[object, CoerceOptions], JsonValue]
_COERCERS: dict[str, _Coercer] = {
    "string": _coerce_string,
    "address": _coerce_address,
    "url": _coerce_url,
    "boolean": _coerce_boolean,
    "number": _coerce_number,
    "date": _coerce_date,
    "multi-select": _coerce_multi_select,
}
