"""Custom-field coercion: one table of cases per type, then fuzzing over every type."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.coerce import (
    FIELD_TYPES,
    CoerceOptions,
    CoercionError,
    FieldType,
    coerce_value,
    parse_field_type,
)
from sync.errors import ConfigError, Skippable, SyncError

ok = pytest.param
NY = CoerceOptions(timezone="America/New_York")


def case(raw: object, expected: object, options: CoerceOptions | None = None, *, id: str) -> Any:
    """A table row: raw value, expected JSON value (or the text the reason must contain)."""
    return pytest.param(raw, expected, options or CoerceOptions(), id=id)


def rejects(field_type: FieldType, raw: object, options: CoerceOptions, reason_part: str) -> None:
    with pytest.raises(CoercionError) as caught:
        coerce_value(field_type, raw, options)
    assert reason_part in caught.value.reason


# --- every type ----------------------------------------------------------------------------


@pytest.mark.parametrize("field_type", FIELD_TYPES)
@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n", "\u00a0"], ids=repr)
def test_empty_is_no_value_for_every_type(field_type: FieldType, raw: object) -> None:
    """None, the empty string and whitespace-only text are "no value" for every type."""
    assert coerce_value(field_type, raw) is None


@pytest.mark.parametrize("field_type", FIELD_TYPES)
@pytest.mark.parametrize(
    "raw",
    [b"abc", bytearray(b"\x00"), memoryview(b"z")],
    ids=["bytes", "bytearray", "memoryview"],
)
def test_binary_data_is_rejected_for_every_type(field_type: FieldType, raw: object) -> None:
    """Bytes are a rejected value that names the field type."""
    article = "an" if field_type == "address" else "a"
    reason = f"binary data cannot be stored in {article} {field_type} field"
    rejects(field_type, raw, CoerceOptions(), reason)


def test_coercion_error_is_a_skippable_sync_error() -> None:
    """A rejected value is Skippable: only the value is left out, not the run."""
    error = CoercionError("bad")
    assert isinstance(error, SyncError)
    assert isinstance(error, Skippable)
    assert error.reason == "bad"


def test_field_types_match_the_literal() -> None:
    """FIELD_TYPES lists exactly the seven types of the API, in the Literal's order."""
    assert get_args(FieldType) == FIELD_TYPES
    assert len(FIELD_TYPES) == 7


def test_unknown_field_type_is_rejected() -> None:
    """A field type the API does not have is a CoercionError listing the known ones."""
    rejects("color", "red", CoerceOptions(), "known types: string, address")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("string", "string"),
        ("  Number ", "number"),
        ("MULTI-SELECT", "multi-select"),
        ("multi_select", "multi-select"),
        ("multiselect", "multi-select"),
        ("date", "date"),
    ],
)
def test_parse_field_type_accepts_the_seven_types(text: str, expected: str) -> None:
    """parse_field_type reads the API's type names in any case and spelling of multi-select."""
    assert parse_field_type(text) == expected


@pytest.mark.parametrize("text", ["", "text", "datetime", "multi select list"])
def test_parse_field_type_rejects_unknown_names(text: str) -> None:
    """An unknown type name is a CoercionError that lists the known types."""
    with pytest.raises(CoercionError, match="known types"):
        parse_field_type(text)


# --- options -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ok({"decimal": ";"}, 'decimal must be "." or ","', id="decimal"),
        ok({"separator": ""}, "separator must not be empty", id="separator"),
        ok({"format": "%d/%m/%Q"}, "cannot be used to read dates", id="format-bad-directive"),
        ok({"format": "dd/mm/yyyy"}, "has no % directives", id="format-no-directive"),
        ok({"timezone": "Mars/Olympus"}, "not an IANA time zone", id="timezone-unknown"),
        ok({"timezone": "../etc/passwd"}, "not an IANA time zone", id="timezone-path"),
    ],
)
def test_bad_options_are_a_config_error(kwargs: dict[str, Any], problem: str) -> None:
    """Invalid options stop at construction with a ConfigError, not later per value."""
    with pytest.raises(ConfigError, match=problem):
        CoerceOptions(**kwargs)


def test_every_bad_option_is_reported_at_once() -> None:
    """All problems of one options object come in one ConfigError."""
    with pytest.raises(ConfigError) as caught:
        CoerceOptions(decimal="x", separator="", timezone="Nowhere")
    assert len(caught.value.problems) == 3


# --- string, address -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "options"),
    [
        case("  Trade show  ", "Trade show", id="trimmed"),
        case("a\nb", "a\nb", id="inner-newline-kept"),
        case(42, "42", id="int"),
        case(-7, "-7", id="negative-int"),
        case(Decimal("1.50"), "1.50", id="decimal-keeps-scale"),
        case(Decimal("1E+3"), "1000", id="decimal-no-exponent"),
        case(3.0, "3", id="whole-float-without-point-zero"),
        case(2.5, "2.5", id="float"),
        case(1e20, "1e+20", id="huge-float"),
        case(True, "true", id="true"),
        case(False, "false", id="false"),
        case(date(2024, 9, 11), "2024-09-11", id="date"),
        case(datetime(2024, 9, 11, 4, 5, tzinfo=UTC), "2024-09-11T04:05:00+00:00", id="datetime"),
        case(time(9, 30), "09:30:00", id="time"),
        case(
            uuid.UUID(int=1),
            "00000000-0000-0000-0000-000000000001",
            id="uuid",
        ),
    ],
)
def test_string_accepts(raw: object, expected: str, options: CoerceOptions) -> None:
    """String fields take trimmed text and print other values plainly."""
    assert coerce_value("string", raw, options) == expected


@pytest.mark.parametrize(
    ("raw", "expected", "options"),
    [
        case(float("nan"), "a float value (nan) cannot be stored", id="nan"),
        case(float("inf"), "cannot be stored in a string field", id="inf"),
        case(Decimal("NaN"), "cannot be stored in a string field", id="decimal-nan"),
        case(["a"], "a list value", id="list"),
        case({"a": 1}, "a dict value", id="dict"),
        case(10**5000, "too long", id="int-too-long-for-text"),
    ],
)
def test_string_rejects(raw: object, expected: str, options: CoerceOptions) -> None:
    """String fields refuse values with no plain text form."""
    rejects("string", raw, options, expected)


@pytest.mark.parametrize(
    ("raw", "expected", "options"),
    [
        case("1 Main St", "1 Main St", id="one-line"),
        case("1 Main St\r\nSpringfield", "1 Main St\nSpringfield", id="crlf"),
        case("1 Main St\rSpringfield", "1 Main St\nSpringfield", id="cr"),
        case("1 Main St   \nSpringfield  ", "1 Main St\nSpringfield", id="trailing-spaces"),
        case("\n\n  1 Main St\nSpringfield\n\n", "1 Main St\nSpringfield", id="outer-blank-lines"),
        case("Suite 5\n\nMain St", "Suite 5\n\nMain St", id="inner-blank-line-kept"),
        case("Suite 5\n  Main St", "Suite 5\n  Main St", id="inner-indent-kept"),
        case(221, "221", id="number"),
    ],
)
def test_address_accepts(raw: object, expected: str, options: CoerceOptions) -> None:
    """Address fields keep inner line breaks, normalized to \\n, with lines trimmed at the end."""
    assert coerce_value("address", raw, options) == expected


def test_address_rejects_a_list() -> None:
    """A list is not an address."""
    rejects("address", ["1 Main St"], CoerceOptions(), "cannot be stored in an address field")


# --- url -----------------------------------------------------------------------------------

HTTPS = CoerceOptions(assume_https=True)


@pytest.mark.parametrize(
    ("raw", "expected", "options"),
    [
        case("https://example.com", "https://example.com", id="https"),
        case(" http://example.com/a?b=1#c ", "http://example.com/a?b=1#c", id="trimmed"),
        case("HTTPS://Example.COM/Path", "HTTPS://Example.COM/Path", id="kept-as-written"),
        case("http://localhost:8080/x", "http://localhost:8080/x", id="localhost"),
        case("http://127.0.0.1/", "http://127.0.0.1/", id="ipv4"),
        case("http://[::1]:80/", "http://[::1]:80/", id="ipv6"),
        case("https://bücher.de", "https://bücher.de", id="idn"),
        case("https://user:pw@a.example.org:8443", "https://user:pw@a.example.org:8443", id="auth"),
        case("example.com/path", "https://example.com/path", HTTPS, id="bare-domain-assumed"),
        case("www.example.com", "https://www.example.com", HTTPS, id="bare-www-assumed"),
        case("//example.com/x", "https://example.com/x", HTTPS, id="protocol-relative"),
        case("localhost:3000", "https://localhost:3000", HTTPS, id="bare-localhost-port"),
    ],
)
def test_url_accepts(raw: object, expected: str, options: CoerceOptions) -> None:
    """URL fields take absolute http(s) URLs; a bare domain gets https:// only when assumed."""
    assert coerce_value("url", raw, options) == expected


@pytest.mark.parametrize(
    ("raw", "expected", "options"),
    [
        case(
            "example.com/path",
            "write it as 'https://example.com/path' or set assume_https",
            id="bare",
        ),
        case("ftp://example.com/f", "only http:// and https://", id="ftp"),
        case("javascript:alert(1)", "only http:// and https://", id="javascript"),
        case("mailto:a@example.com", "only http:// and https://", HTTPS, id="mailto"),
        case("http://exa mple.com", "contains spaces", id="inner-space"),
        case("http://example.com/\x00", "control characters", id="control-char"),
        case("http://intranet/", "has no dot", id="dotless-host"),
        case("intranet", "has no dot", HTTPS, id="dotless-bare"),
        case("http:example.com", "no host after the scheme", id="no-slashes"),
        case("https://", "has no host", id="no-host"),
        case("http://exa_mple..com", "not a valid host name", id="empty-label"),
        case("http://-bad.com", "not a valid host name", id="label-hyphen"),
        case("http://1.2.3", "not a valid host name", id="numeric-tld"),
        case("http://example.com:99999", "is not a URL", id="bad-port"),
        case("http://[::1", "is not a URL", id="bad-ipv6"),
        case("not a url", "contains spaces", HTTPS, id="words"),
        case(42, "a int value (42) is not a URL", id="number"),
    ],
)
def test_url_rejects(raw: object, expected: str, options: CoerceOptions) -> None:
    """Anything but an absolute http(s) URL with a real host is a rejected value."""
    rejects("url", raw, options, expected)


# --- boolean -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["true", "TRUE", "True", " yes ", "Y", "y", "1", "x", "X", "checked", "Checked", "on", "t"],
)
def test_boolean_true_words(text: str) -> None:
    """Every accepted yes-word, in any case and trimmed, is True."""
    assert coerce_value("boolean", text) is True


@pytest.mark.parametrize(
    "text", ["false", "FALSE", "no", "No", "n", "N", "0", "unchecked", "UNCHECKED", "off", "f"]
)
def test_boolean_false_words(text: str) -> None:
    """Every accepted no-word, in any case and trimmed, is False."""
    assert coerce_value("boolean", text) is False


@pytest.mark.parametrize(
    ("raw", "expected", "options"),
    [
        case(True, True, id="bool-true"),
        case(False, False, id="bool-false"),
        case(1, True, id="int-1"),
        case(0, False, id="int-0"),
        case(Decimal("1"), True, id="decimal-1"),
        case(0.0, False, id="float-0"),
        case("", None, id="empty-is-no-value-not-false"),
    ],
)
def test_boolean_accepts(raw: object, expected: object, options: CoerceOptions) -> None:
    """Python booleans and the numbers 0/1 are booleans; an empty cell is no value."""
    assert coerce_value("boolean", raw, options) is expected


@pytest.mark.parametrize(
    ("raw", "expected", "options"),
    [
        case("maybe", "'maybe' is not a yes/no value; use one of true/false, yes/no", id="word"),
        case("2", "is not a yes/no value", id="text-2"),
        case("yes please", "is not a yes/no value", id="phrase"),
        case("1.0", "is not a yes/no value", id="text-1.0"),
        case(2, "2 is not a yes/no value", id="int-2"),
        case(float("nan"), "is not a yes/no value", id="nan"),
        case(Decimal("sNaN"), "is not a yes/no value", id="signaling-nan"),
        case(date(2024, 1, 1), "is not a yes/no value", id="date"),
    ],
)
def test_boolean_rejects(raw: object, expected: str, options: CoerceOptions) -> None:
    """Anything else is a rejected value whose reason lists the accepted words."""
    rejects("boolean", raw, options, expected)


# --- number --------------------------------------------------------------------------------

COMMA = CoerceOptions(decimal=",")


@pytest.mark.parametrize(
    ("raw", "expected", "options"),
    [
        case("42", 42, id="int-text"),
        case(" -7 ", -7, id="negative"),
        case("+7", 7, id="plus"),
        case("\u22127", -7, id="unicode-minus"),
        case("3.25", 3.25, id="decimal-text"),
        case(".5", 0.5, id="leading-point"),
        case("42.00", 42, id="integral-decimal-text-is-int"),
        case("1,234", 1234, id="comma-thousands"),
        case("1,234,567.89", 1234567.89, id="thousands-and-decimals"),
        case("1_000", 1000, id="underscore"),
        case("1 000 000", 1000000, id="spaces"),
        case("1\u00a0000", 1000, id="nbsp"),
        case("1\u2009000", 1000, id="thin-space"),
        case("$1,234.50", 1234.5, id="dollar-front"),
        case("-$5", -5, id="sign-then-currency"),
        case("$-5", -5, id="currency-then-sign"),
        case("12 €", 12, id="euro-back"),
        case("£ 3", 3, id="pound-front-space"),
        case("3,25", 3.25, COMMA, id="comma-decimal"),
        case("1.234,5", 1234.5, COMMA, id="dot-thousands"),
        case("1 234,5 €", 1234.5, COMMA, id="space-thousands-comma-decimal"),
        case("-0", 0, id="minus-zero"),
        case(42, 42, id="int"),
        case(10**20, 10**20, id="big-int-exact"),
        case(2.5, 2.5, id="float"),
        case(3.0, 3.0, id="whole-float-passes"),
        case(Decimal("19.99"), 19.99, id="decimal"),
        case(Decimal("100.000"), 100, id="integral-decimal"),
        case(Decimal("1E+2"), 100, id="decimal-exponent"),
        case(Decimal("0.1"), 0.1, id="decimal-tenth"),
    ],
)
def test_number_accepts(raw: object, expected: object, options: CoerceOptions) -> None:
    """Numbers come out as JSON ints when integral, floats otherwise."""
    result = coerce_value("number", raw, options)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("raw", "expected", "options"),
    [
        case("abc", "'abc' is not a number", id="text"),
        case("15%", "percentages are not accepted", id="percent"),
        case("1e5", "is not a number", id="exponent"),
        case("1,23,4", "must come in groups of 3", id="bad-grouping"),
        case("1,5", 'set decimal = ","', id="decimal-comma-undeclared"),
        case("1234,567", "must come in groups of 3", id="long-first-group"),
        case("1.5", 'set decimal = "."', COMMA, id="decimal-point-with-comma-declared"),
        case("1,234.5", "is not a number", COMMA, id="us-format-with-comma-declared"),
        case("1,234 567", "mixes thousands separators", id="mixed-separators"),
        case("1.2.3", "is not a number", id="two-points"),
        case("--5", "is not a number", id="double-sign"),
        case("$5$", "is not a number", id="two-currencies"),
        case("$", "is not a number", id="only-currency"),
        case("-", "is not a number", id="only-sign"),
        case("5.", "is not a number", id="trailing-point"),
        case("(5)", "is not a number", id="accounting-negative"),
        case("١٢", "is not a number", id="non-ascii-digits"),
        case("NaN", "is not a number", id="nan-text"),
        case("Infinity", "is not a number", id="infinity-text"),
        case(float("nan"), "not a finite number", id="nan"),
        case(float("-inf"), "not a finite number", id="minus-inf"),
        case(Decimal("NaN"), "not a finite number", id="decimal-nan"),
        case(Decimal("Infinity"), "not a finite number", id="decimal-inf"),
        case(Decimal("1E+400"), "too large", id="decimal-too-large"),
        case(10**400, "too large", id="int-too-large"),
        case(Decimal("1E-400"), "too small", id="decimal-underflow"),
        case(True, "True is a yes/no value, not a number", id="bool"),
        case(date(2024, 1, 1), "a date value (2024-01-01) is not a number", id="date"),
    ],
)
def test_number_rejects(raw: object, expected: str, options: CoerceOptions) -> None:
    """Text that is not a plain number, NaN, infinities and booleans are rejected values."""
    rejects("number", raw, options, expected)


# --- date ----------------------------------------------------------------------------------

BERLIN = CoerceOptions(timezone="Europe/Berlin")
DMY = CoerceOptions(format="%d/%m/%Y")
SERIAL = CoerceOptions(serial=True)
# Naive datetimes, as SQL drivers hand them over (ruff's DTZ001 wants a tzinfo on each).
NAIVE_MOMENT = datetime.fromisoformat("2024-09-11T04:05:06.789")
LAST_NAIVE_HOUR = datetime.fromisoformat("9999-12-31T23:00")
SERIAL_EPOCH = datetime.fromisoformat("1899-12-30")
YEAR_2 = datetime.fromisoformat("0002-01-01")
YEAR_9998 = datetime.fromisoformat("9998-12-31")


@pytest.mark.parametrize(
    ("raw", "expected", "options"),
    [
        case("2024-09-11", "2024-09-11T00:00:00.000Z", id="iso-date"),
        case("2024-09-11", "2024-09-11T04:00:00.000Z", NY, id="iso-date-in-zone"),
        case("2024-01-11", "2024-01-11T05:00:00.000Z", NY, id="iso-date-in-zone-winter"),
        case("2024-09-11T04:00:00.000Z", "2024-09-11T04:00:00.000Z", id="api-form"),
        case("2024-09-11T04:05:06Z", "2024-09-11T04:05:06.000Z", id="iso-z"),
        case("2024-09-11 04:05", "2024-09-11T04:05:00.000Z", id="space-no-seconds"),
        case("2024-09-11T04:05:06+02:00", "2024-09-11T02:05:06.000Z", id="offset"),
        case("2024-09-11T04:05:06+0530", "2024-09-10T22:35:06.000Z", id="offset-no-colon"),
        case("2024-09-11T04:05:06", "2024-09-11T02:05:06.000Z", BERLIN, id="naive-in-zone"),
        case("2024-09-11T04:05:06Z", "2024-09-11T04:05:06.000Z", BERLIN, id="aware-ignores-zone"),
        case("2024-09-11T04:05:06.1239999Z", "2024-09-11T04:05:06.123Z", id="fraction-cut-to-ms"),
        case(date(2024, 9, 11), "2024-09-11T00:00:00.000Z", id="date-object"),
        case(date(2024, 9, 11), "2024-09-11T04:00:00.000Z", NY, id="date-object-in-zone"),
        case(NAIVE_MOMENT, "2024-09-11T04:05:06.789Z", id="naive-utc"),
        case(
            datetime(2024, 9, 11, 6, 0, tzinfo=timezone(timedelta(hours=2))),
            "2024-09-11T04:00:00.000Z",
            NY,
            id="aware-datetime",
        ),
        case("11/09/2024", "2024-09-11T00:00:00.000Z", DMY, id="declared-format"),
        case("3/4/2024", "2024-04-03T00:00:00.000Z", DMY, id="declared-format-single-digits"),
        case("2024-09-11", "2024-09-11T00:00:00.000Z", DMY, id="iso-beside-format"),
        case(
            "11.09.2024 14:30 +0200",
            "2024-09-11T12:30:00.000Z",
            CoerceOptions(format="%d.%m.%Y %H:%M %z"),
            id="format-with-offset",
        ),
        case(45000, "2023-03-15T00:00:00.000Z", SERIAL, id="serial-int"),
        case(45000.5, "2023-03-15T12:00:00.000Z", SERIAL, id="serial-noon"),
        case(45000.1, "2023-03-15T02:24:00.000Z", SERIAL, id="serial-float-rounded-to-ms"),
        case(Decimal("45000.75"), "2023-03-15T18:00:00.000Z", SERIAL, id="serial-decimal"),
        case("45000", "2023-03-15T00:00:00.000Z", SERIAL, id="serial-text"),
        case("45000,25", "2023-03-15T06:00:00.000Z", SERIAL, id="serial-text-comma"),
        case(1, "1899-12-31T00:00:00.000Z", SERIAL, id="serial-one"),
        case(-1, "1899-12-29T00:00:00.000Z", SERIAL, id="serial-negative-sheets"),
        case(
            45000,
            "2023-03-15T04:00:00.000Z",
            CoerceOptions(serial=True, timezone="America/New_York"),
            id="serial-in-zone",
        ),
        case("March 4, 2024", "2024-03-04T00:00:00.000Z", id="month-day-year"),
        case("Mar. 4 2024", "2024-03-04T00:00:00.000Z", id="month-abbrev"),
        case("4 March 2024", "2024-03-04T00:00:00.000Z", id="day-month-year"),
        case("4-Mar-2024", "2024-03-04T00:00:00.000Z", id="day-mon-year-dashes"),
        case("Sept 1st, 2024", "2024-09-01T00:00:00.000Z", id="sept-ordinal"),
        case("DECEMBER 31 2024", "2024-12-31T00:00:00.000Z", id="upper-case"),
    ],
)
def test_date_accepts(raw: object, expected: str, options: CoerceOptions) -> None:
    """Dates come out as UTC ISO 8601 date-times with milliseconds and Z."""
    assert coerce_value("date", raw, options) == expected


@pytest.mark.parametrize(
    ("raw", "expected", "options"),
    [
        case(
            "03/04/2024",
            "'03/04/2024' is ambiguous; set format for this field (e.g. \"%d/%m/%Y\"",
            id="ambiguous-slashes",
        ),
        case(
            "3/4/24",
            'is ambiguous; set format for this field (e.g. "%d/%m/%y"',
            id="ambiguous-short-year",
        ),
        case(
            "04.03.2024",
            'is ambiguous; set format for this field (e.g. "%d.%m.%Y"',
            id="ambiguous-dots",
        ),
        case(
            "25/12/2024",
            'is not ISO 8601; set format for this field (e.g. "%d/%m/%Y")',
            id="day-first-still-not-guessed",
        ),
        case(
            "12/25/2024",
            'set format for this field (e.g. "%m/%d/%Y")',
            id="month-first-still-not-guessed",
        ),
        case("2024/09/11", 'set format for this field (e.g. "%Y/%m/%d")', id="year-first-slashes"),
        case("2024-02-30", "is not a valid date (day is out of range for month)", id="invalid-iso"),
        case("2024-09-11T25:00", "is not a valid date", id="invalid-hour"),
        case("30/02/2024", "is not a valid date", DMY, id="invalid-with-format"),
        case("2024.09.11", "does not match the date format '%d/%m/%Y'", DMY, id="format-mismatch"),
        case("March 4, 2024", "does not match the date format", DMY, id="format-is-the-only-other"),
        case("February 30, 2024", "is not a valid date", id="invalid-month-name-date"),
        case("Foo 4, 2024", "is not a date; write it in ISO 8601", id="unknown-month"),
        case("4 Mär 2024", "is not a date", id="non-english-month"),
        case("March 4", "is not a date", id="no-year"),
        case("tomorrow", "is not a date; write it in ISO 8601", id="word"),
        case("2024-9-11", "is not ISO 8601", id="unpadded-iso"),
        case(45000, "set serial = true for this field", id="number-without-serial"),
        case("45000", "set serial = true for this field", id="numeric-text-without-serial"),
        case("45000", "set serial = true for this field", DMY, id="numeric-text-with-format"),
        case(45000.5, "set serial = true", id="float-without-serial"),
        case(True, "a bool value (True) is not a date", SERIAL, id="bool"),
        case(float("nan"), "is not a serial day number", SERIAL, id="serial-nan"),
        case(10**12, "outside the serial day numbers", SERIAL, id="serial-too-large"),
        case("-700000", "outside the serial day numbers", SERIAL, id="serial-too-small"),
        case(
            Decimal("2958465.9999999999"),
            "outside the years 1 to 9999",
            SERIAL,
            id="serial-rounds-past-9999",
        ),
        case(
            datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
            "outside the years 1 to 9999",
            id="year-0-in-utc",
        ),
        case(LAST_NAIVE_HOUR, "outside the years 1 to 9999", NY, id="year-10000-in-utc"),
        case(time(9, 30), "a time value (09:30:00) is not a date", id="time"),
        case(["2024-09-11"], "a list value", id="list"),
    ],
)
def test_date_rejects(raw: object, expected: str, options: CoerceOptions) -> None:
    """Numeric dates are never guessed; invalid dates and stray numbers are rejected values."""
    rejects("date", raw, options, expected)


# --- multi-select --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "options"),
    [
        case("vip", ["vip"], id="one"),
        case("vip; lead ;partner", ["vip", "lead", "partner"], id="trimmed"),
        case("a;;b; ;", ["a", "b"], id="empties-dropped"),
        case("b;a;b;A", ["b", "a", "A"], id="duplicates-dropped-order-kept-case-sensitive"),
        case("a, b", ["a", "b"], CoerceOptions(separator=","), id="comma-separator"),
        case("a | b", ["a", "b"], CoerceOptions(separator="|"), id="pipe-separator"),
        case("a;b", ["a;b"], CoerceOptions(separator=","), id="other-separator-is-text"),
        case(";;", None, id="only-separators-is-no-value"),
        case(["x", " y ", "x", "", None], ["x", "y"], id="list"),
        case(("x", 2, Decimal("3.5")), ["x", "2", "3.5"], id="tuple-of-scalars"),
        case(["a;b"], ["a;b"], id="list-items-not-split"),
        case([], None, id="empty-list"),
        case(7, ["7"], id="number"),
    ],
)
def test_multi_select_accepts(raw: object, expected: object, options: CoerceOptions) -> None:
    """Multi-select values become a list of distinct trimmed labels in their first order."""
    assert coerce_value("multi-select", raw, options) == expected


@pytest.mark.parametrize(
    ("raw", "expected", "options"),
    [
        case([["a"]], "cannot itself hold several values", id="nested-list"),
        case([b"a"], "binary data cannot be stored in a multi-select field", id="bytes-item"),
        case({"a"}, "a set value", id="set"),
        case(float("nan"), "cannot be stored in a multi-select field", id="nan"),
    ],
)
def test_multi_select_rejects(raw: object, expected: str, options: CoerceOptions) -> None:
    """Nested lists, binary items and values without a text form are rejected."""
    rejects("multi-select", raw, options, expected)


# --- properties ----------------------------------------------------------------------------

OPTION_SETS = [
    CoerceOptions(),
    CoerceOptions(
        format="%d/%m/%Y",
        separator=",",
        decimal=",",
        serial=True,
        assume_https=True,
        timezone="America/New_York",
    ),
    CoerceOptions(format="%B %d, %Y %H:%M", timezone="Asia/Kolkata", separator=" "),
    CoerceOptions(format="%Y%m%d%z", serial=True, timezone="Pacific/Kiritimati"),
]
RESULT_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "address": (str,),
    "url": (str,),
    "boolean": (bool,),
    "number": (int, float),
    "date": (str,),
    "multi-select": (list,),
}
TEXTY = "0123456789 .,;:/-+_$€£%xXTZtrueyesnohttps:/www.example.com\u00a0\n\r\t"
RAW_VALUES = st.one_of(
    st.text(),
    st.text(alphabet=TEXTY, max_size=30),
    st.from_regex(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?Z?)?", fullmatch=True
    ),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.booleans(),
    st.none(),
    st.binary(max_size=5),
    st.dates(),
    st.datetimes(timezones=st.none() | st.timezones()),
    st.times(),
    st.uuids(),
    st.lists(st.text(max_size=5) | st.integers() | st.none(), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@pytest.mark.parametrize("options", OPTION_SETS, ids=["default", "european", "words", "compact"])
@pytest.mark.parametrize("field_type", FIELD_TYPES)
@settings(max_examples=60, deadline=None, database=None)
@given(raw=RAW_VALUES)
def test_fuzz_only_coercion_errors_and_json_results(
    field_type: FieldType, options: CoerceOptions, raw: object
) -> None:
    """Any input gives a JSON-serializable value of the type's shape, None, or a CoercionError."""
    try:
        result = coerce_value(field_type, raw, options)
    except CoercionError:
        return
    json.dumps(result, allow_nan=False)
    assert result is None or isinstance(result, RESULT_TYPES[field_type])


@settings(deadline=None, database=None)
@given(number=st.integers(min_value=-(10**15), max_value=10**15))
def test_grouped_integers_read_back_exactly(number: int) -> None:
    """An integer written with thousands separators reads back as the same integer."""
    assert coerce_value("number", f"{number:,}") == number
    grouped = f"{number:,}".replace(",", ".")
    assert coerce_value("number", grouped, COMMA) == number


@settings(deadline=None, database=None)
@given(day=st.dates())
def test_iso_dates_read_back_as_utc_midnight(day: date) -> None:
    """Any ISO date is that day's midnight UTC."""
    assert coerce_value("date", day.isoformat()) == f"{day.isoformat()}T00:00:00.000Z"


@settings(deadline=None, database=None)
@given(moment=st.datetimes(min_value=YEAR_2, max_value=YEAR_9998))
def test_serial_day_numbers_match_dates(moment: datetime) -> None:
    """The serial number of a moment (epoch 1899-12-30) reads back as that moment to the ms."""
    moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    since_epoch = moment - SERIAL_EPOCH
    micros = Decimal(since_epoch.seconds * 10**6 + since_epoch.microseconds)
    days = since_epoch.days + micros / (86400 * 10**6)
    expected = f"{moment.isoformat(timespec='milliseconds')}Z"
    assert coerce_value("date", days, SERIAL) == expected


@settings(deadline=None, database=None)
@given(labels=st.lists(st.text(alphabet="abcXYZ -", min_size=1, max_size=6)))
def test_multi_select_is_idempotent(labels: list[str]) -> None:
    """Joining the coerced items with the separator and coercing again changes nothing."""
    first = coerce_value("multi-select", ";".join(labels))
    again = coerce_value("multi-select", ";".join(first or []))
    assert again == first
