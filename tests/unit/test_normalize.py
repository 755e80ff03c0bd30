"""The pure normalizers: names, emails, phone numbers and region codes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from sync.normalize import (
    PhoneResult,
    _is_valid,
    _normalize_email_fully,
    _region_validator,
    email_key,
    is_valid_region,
    normalize_email,
    normalize_name,
    normalize_phone,
)

# --- names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("Ann", "Ann", id="plain"),
        pytest.param("  Ann \t\n", "Ann", id="trimmed"),
        pytest.param("Mary   Jane", "Mary Jane", id="inner-run-collapsed"),
        pytest.param("Mary\u00a0\u2003Jane", "Mary Jane", id="unicode-spaces-collapsed"),
        pytest.param("\u00a0Zoë\u3000", "Zoë", id="nbsp-and-ideographic-space-trimmed"),
        pytest.param("Jose\u0301", "Jos\u00e9", id="nfc-composed"),
        pytest.param("O'Brien-Smith", "O'Brien-Smith", id="punctuation-kept"),
        pytest.param(42, "42", id="int"),
        pytest.param("", None, id="empty"),
        pytest.param(" \t\u00a0\n", None, id="whitespace-only"),
        pytest.param(None, None, id="none"),
    ],
)
def test_normalize_name(raw: object, expected: str | None) -> None:
    """Names are NFC, trimmed, with inner whitespace runs made one space; empty is None."""
    assert normalize_name(raw) == expected


# --- emails ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("ann@example.com", "ann@example.com", id="plain"),
        pytest.param(" Ann.Smith@Example.COM ", "Ann.Smith@example.com", id="domain-lowered"),
        pytest.param("\u00a0ann@example.com\u2003", "ann@example.com", id="unicode-space-trimmed"),
        pytest.param("an\u200bn@exam\u200dple.com\ufeff", "ann@example.com", id="zero-width-removed"),
        pytest.param("ann+crm@sub.example.co.uk", "ann+crm@sub.example.co.uk", id="plus-subdomain"),
        pytest.param("o'brien@my-firm.example", "o'brien@my-firm.example", id="apostrophe-hyphen"),
        pytest.param("jos\u00e9@B\u00dcCHER.de", "jos\u00e9@b\u00fccher.de", id="idn"),
        pytest.param("jose\u0301@example.com", "jos\u00e9@example.com", id="nfc"),
        pytest.param("1@2.example", "1@2.example", id="digits"),
    ],
)
def test_valid_emails(raw: str, expected: str) -> None:
    """A good address comes back cleaned, local part as written, domain lower-cased."""
    assert normalize_email(raw) == (expected, None)


@pytest.mark.parametrize("raw", [None, "", "   ", "\u200b", "\u00a0\t"], ids=repr)
def test_empty_email_is_no_value_and_no_problem(raw: object) -> None:
    """Nothing to normalize is not a problem."""
    assert normalize_email(raw) == (None, None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param("ann.example.com", "no @", id="no-at"),
        pytest.param("ann@b@example.com", "more than one @", id="two-ats"),
        pytest.param("@example.com", "nothing before the @", id="empty-local"),
        pytest.param("ann@", "nothing after the @", id="empty-domain"),
        pytest.param("ann smith@example.com", "space", id="space-in-local"),
        pytest.param("ann@exam ple.com", "space", id="space-in-domain"),
        pytest.param("ann\u00a0smith@example.com", "space", id="nbsp-inside"),
        pytest.param("ann@example", "no dot", id="domain-without-dot"),
        pytest.param("ann..x@example.com", "consecutive dots", id="double-dot-local"),
        pytest.param("ann@example..com", "consecutive dots", id="double-dot-domain"),
        pytest.param(".ann@example.com", "starts or ends with a dot", id="leading-dot"),
        pytest.param("ann.@example.com", "starts or ends with a dot", id="trailing-dot-local"),
        pytest.param("ann@.example.com", "starts or ends with a dot", id="domain-leading-dot"),
        pytest.param("ann@example.com.", "starts or ends with a dot", id="domain-trailing-dot"),
        pytest.param("ann@-example.com", "hyphen", id="label-leading-hyphen"),
        pytest.param("ann@example-.com", "hyphen", id="label-trailing-hyphen"),
        pytest.param("ann@exa_mple.com", "letters, digits and hyphens", id="underscore-domain"),
        pytest.param("ann@exa!mple.com", "letters, digits and hyphens", id="bang-domain"),
        pytest.param("Ann <ann@example.com>", "space", id="display-name"),
        pytest.param("a<b@example.com", "invalid character '<'", id="angle-bracket"),
        pytest.param("ann@1.2.3.4", "does not end in a name", id="ip-like"),
        pytest.param("a" * 65 + "@example.com", "too long", id="long-local"),
    ],
)
def test_invalid_emails(raw: str, reason: str) -> None:
    """A bad address is left out with a reason that says what is wrong."""
    value, problem = normalize_email(raw)
    assert value is None
    assert problem is not None and reason in problem


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("Ann@Example.com", "ann@example.com", id="ascii-case"),
        pytest.param("STRASSE@example.de", "stra\u00dfe@example.de", id="casefold"),
    ],
)
def test_email_key_compares_case_insensitively(a: str, b: str) -> None:
    """Two spellings of one address have the same key."""
    assert email_key(a) == email_key(b)


# --- phone numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "e164", "extension"),
    [
        pytest.param("+1 415-555-0132", "US", "+14155550132", None, id="international-us"),
        pytest.param("(415) 555-0132", "US", "+14155550132", None, id="national-us"),
        pytest.param("415.555.0132", "US", "+14155550132", None, id="dotted"),
        pytest.param("1-415-555-0132", "US", "+14155550132", None, id="country-code-no-plus"),
        pytest.param("+14155550132", None, "+14155550132", None, id="e164-no-region"),
        pytest.param(" 415 555 0132 ", "us", "+14155550132", None, id="region-any-case"),
        pytest.param("(604) 555-0132", "US", "+16045550132", None, id="canada-via-us"),
        pytest.param("+44 7624 123456", None, "+447624123456", None, id="isle-of-man-shares-44"),
        pytest.param("020 7946 0018", "GB", "+442079460018", None, id="national-gb"),
        pytest.param("+44 20 7946 0018", "US", "+442079460018", None, id="gb-from-us"),
        pytest.param("0044 20 7946 0018", "US", "+442079460018", None, id="00-from-us"),
        pytest.param("0044 20 7946 0018", None, "+442079460018", None, id="00-no-region"),
        pytest.param("011 44 20 7946 0018", "US", "+442079460018", None, id="011-from-us"),
        pytest.param("011 44 20 7946 0018", "GB", "+442079460018", None, id="011-from-gb"),
        pytest.param("0118 496 0000", "GB", "+441184960000", None, id="gb-0118-is-national"),
        pytest.param("+39 06 1234 5678", None, "+390612345678", None, id="italian-zero"),
        pytest.param("030 1234567", "DE", "+49301234567", None, id="national-de"),
        pytest.param("+800 1234 5678", None, "+80012345678", None, id="non-geographic"),
        pytest.param("+1 415 555 0132 x123", "US", "+14155550132", "123", id="ext-x"),
        pytest.param("415-555-0132 ext. 45", "US", "+14155550132", "45", id="ext-dot"),
        pytest.param("+1 415 555 0132;ext=99", "US", "+14155550132", "99", id="ext-rfc3966"),
        pytest.param("tel:+1-415-555-0132;ext=7", None, "+14155550132", "7", id="tel-uri"),
        pytest.param(4155550132, "US", "+14155550132", None, id="int"),
        pytest.param(4155550132.0, "US", "+14155550132", None, id="integral-float"),
        pytest.param(Decimal("4155550132"), "US", "+14155550132", None, id="decimal"),
    ],
)
def test_valid_phone_numbers(raw: object, region: str | None, e164: str, extension: str | None) -> None:
    """Valid numbers come back in E.164 with any extension apart."""
    assert normalize_phone(raw, region) == PhoneResult(e164, extension, None)


@pytest.mark.parametrize(
    ("raw", "region", "problem"),
    [
        pytest.param("415-555-0132", None, "no country code and no default_region", id="no-region"),
        pytest.param(
            "415-555-0132", "XX", "no country code, and 'XX' is not a known region",
            id="unknown-region",
        ),
        pytest.param("+1 123 456 7890", "US", "not a valid phone number for region US", id="bad-us"),
        pytest.param("555-0132", "US", "not a valid phone number for region US", id="seven-digits"),
        pytest.param("+44 20 1234", "US", "not a valid phone number for region GB", id="bad-gb"),
        pytest.param(
            "021 2345 6137", "US", "not a valid phone number for region US",
            id="leading-zero-is-not-dropped",
        ),
        pytest.param("+800 12", None, "not a valid phone number for country code +800", id="bad-800"),
        pytest.param("+999 1234567", None, "unknown country code", id="unknown-country"),
        pytest.param("hello", "US", "not a phone number", id="words"),
        pytest.param("1" * 300, "US", "too long to be a phone number", id="very-long"),
        pytest.param(4155550132.5, "US", "not a phone number", id="fraction"),
        pytest.param(float("nan"), "US", "not a phone number", id="nan"),
        pytest.param(Decimal("sNaN"), "US", "not a phone number", id="signalling-nan"),
        pytest.param(-4155550132, "US", "not a phone number", id="negative"),
        pytest.param(10**5000, "US", "not a phone number", id="huge-int"),
        pytest.param(Decimal("1E+999999"), "US", "not a phone number", id="huge-decimal"),
    ],
)
def test_invalid_phone_numbers(raw: object, region: str | None, problem: str) -> None:
    """A number that is not valid is left out with the reason, no E.164 value."""
    assert normalize_phone(raw, region) == PhoneResult(None, None, problem)


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"], ids=repr)
def test_empty_phone_is_all_none(raw: object) -> None:
    """No number is neither a value nor a problem."""
    assert normalize_phone(raw, "US") == PhoneResult()


def test_phone_results_are_cached() -> None:
    """The same text and region give the very same result object (no second parse)."""
    first = normalize_phone("+1 (212) 555-0199", "US")
    assert normalize_phone("+1 (212) 555-0199", "US") is first


@pytest.mark.parametrize(
    ("code", "valid"),
    [("US", True), ("gb", True), ("DE", True), ("XX", False), ("USA", False), ("", False),
     ("001", False), (" US", False)],
)
def test_is_valid_region(code: str, valid: bool) -> None:
    """Region codes are ISO 3166 alpha-2 codes phonenumbers knows, in any case."""
    assert is_valid_region(code) is valid


# --- equivalence with plain phonenumbers ------------------------------------------------


def library_reference(text: str, region: str | None) -> tuple[str, str | None] | None:
    """What phonenumbers says, the slow way: parse, is_valid_number, E.164, 00/011 retry."""

    def attempt(candidate: str) -> tuple[str, str | None] | None:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
        return phonenumbers.format_number(number, PhoneNumberFormat.E164), number.extension or None

    found = attempt(text)
    stripped = text.lstrip(" (")
    for prefix in ("011", "00"):
        if found is None and stripped.startswith(prefix):
            return attempt("+" + stripped[len(prefix) :])
    return found


REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
FORMATS = [
    PhoneNumberFormat.E164, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.NATIONAL,
    PhoneNumberFormat.RFC3966,
]


@st.composite
def realistic_numbers(draw: st.DrawFn) -> tuple[str, str | None]:
    """A number near a real one of some region, written the way people write numbers."""
    region = draw(st.sampled_from(REGIONS))
    kind = draw(st.sampled_from([PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE]))
    example = phonenumbers.example_number_for_type(region, kind)
    if example is None:
        example = phonenumbers.parse("+14155550132")
    digits = str(example.national_number)
    tail = draw(st.integers(0, 999))
    national = digits[:-3] + f"{tail:03d}" if len(digits) > 3 else digits
    text = f"+{example.country_code}{national}"
    try:
        number = phonenumbers.parse(text)
        text = phonenumbers.format_number(number, draw(st.sampled_from(FORMATS)))
    except phonenumbers.NumberParseException:
        pass
    if draw(st.booleans()) and draw(st.booleans()):
        text += f" x{draw(st.integers(1, 9999))}"
    home = draw(st.sampled_from([region, region, "US", "GB", None]))
    return text, home


PLAIN_DIGITS = st.tuples(
    st.text(alphabet="+0123456789 ()-./", max_size=20), st.sampled_from([*REGIONS, None])
)


@settings(max_examples=300, deadline=timedelta(seconds=1))
@given(case=st.one_of(realistic_numbers(), PLAIN_DIGITS))
def test_phone_results_equal_plain_phonenumbers(case: tuple[str, str | None]) -> None:
    """The shortcuts (plain-digit parse, main-region validation) change no result."""
    text, region = case
    result = normalize_phone(text, region)
    found = (result.e164, result.extension) if result.e164 else None
    assert found == library_reference(text.strip(), region)


@settings(max_examples=200, deadline=timedelta(seconds=1))
@given(case=realistic_numbers())
def test_validation_shortcut_equals_is_valid_number(case: tuple[str, str | None]) -> None:
    """_is_valid agrees with phonenumbers.is_valid_number on every parsed number."""
    text, region = case
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return
    assert _is_valid(number) == phonenumbers.is_valid_number(number)


def _near_examples() -> list[phonenumbers.PhoneNumber]:
    """Every region's example number of every type, and neighbours of it that differ in the
    last digits or in length: numbers on both sides of each validity pattern."""
    numbers = []
    for region in [*REGIONS, "001"]:
        for kind in PhoneNumberType.values():
            if region == "001":
                examples = [phonenumbers.example_number_for_non_geo_entity(c)
                            for c in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS]
            else:
                examples = [phonenumbers.example_number_for_type(region, kind)]
            for example in examples:
                if example is None:
                    continue
                digits = str(example.national_number)
                for variant in (digits, digits[:-1], digits + "7", digits[:-2] + "00",
                                digits[:-3] + "999", "9" + digits[1:], "1" + digits[1:]):
                    if variant:
                        numbers.append(phonenumbers.PhoneNumber(
                            country_code=example.country_code, national_number=int(variant)))
    return numbers


def test_compiled_region_validation_equals_the_library_for_every_region() -> None:
    """_region_validator gives is_valid_number_for_region's answer, region by region."""
    checked = 0
    for number in _near_examples():
        code = number.country_code
        for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ()):
            national = phonenumbers.national_significant_number(number)
            expected = phonenumbers.is_valid_number_for_region(number, region)
            assert _region_validator(code, region)(national) == expected, (number, region)
            checked += 1
    assert checked > 10_000


EMAILISH = st.one_of(
    st.emails().map(str),
    st.text(alphabet="aZ09.-_+@'`~!#&*=?^{|}/\"(),:;<>[]\\ \t\u00e9\u200b", max_size=40),
    st.builds(lambda a, b: f"{a}@{b}", st.text(alphabet="ab.-_", max_size=8),
              st.text(alphabet="ab09.-", max_size=12)),
)


@settings(max_examples=1000, deadline=timedelta(seconds=1))
@given(raw=EMAILISH)
def test_the_plain_email_shortcut_changes_no_result(raw: str) -> None:
    """An address the shortcut accepts gets exactly what the full check gives."""
    assert normalize_email(raw) == _normalize_email_fully(raw)


# --- fuzzing (issue 7) ------------------------------------------------------------------

FUZZ = settings(max_examples=200, deadline=timedelta(seconds=1))
ANY_TEXT = st.one_of(st.text(), st.text(alphabet=" \t\u00a0\u200b@.+-()0123456789xeEt;="))


@FUZZ
@given(raw=st.one_of(ANY_TEXT, st.integers(), st.floats(), st.none()))
def test_normalize_name_takes_anything(raw: object) -> None:
    """Any value gives None or a trimmed, single-spaced name."""
    name = normalize_name(raw)
    assert name is None or (name == name.strip() and "  " not in name and name)


@FUZZ
@given(raw=st.one_of(ANY_TEXT, st.emails(), st.integers(), st.none()))
def test_normalize_email_takes_anything(raw: object) -> None:
    """Any value gives a value or a problem (never both), and values normalize to themselves."""
    value, problem = normalize_email(raw)
    assert value is None or problem is None
    if value is not None:
        assert value.count("@") == 1
        assert normalize_email(value) == (value, None)


@FUZZ
@given(
    raw=st.one_of(ANY_TEXT, st.integers(), st.floats(), st.decimals(), st.none()),
    region=st.one_of(st.none(), st.sampled_from(["US", "GB", "de", "XX", "", " "]), st.text()),
)
def test_normalize_phone_takes_anything(raw: object, region: str | None) -> None:
    """Any value and region give an E.164 value, a problem, or nothing; never an exception."""
    result = normalize_phone(raw, region)
    if result.e164 is not None:
        assert result.problem is None
        assert result.e164.startswith("+") and result.e164[1:].isdigit()
        assert normalize_phone(result.e164, None).e164 == result.e164
    else:
        assert result.extension is None


@FUZZ
@given(code=st.text(max_size=4))
def test_is_valid_region_takes_anything(code: str) -> None:
    """Any text is answered with a bool."""
    assert isinstance(is_valid_region(code), bool)
