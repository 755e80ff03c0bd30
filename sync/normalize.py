"""Pure normalizers for names, emails and phone numbers. No I/O.

Each takes a raw source value (text from a file or a sheet, or a driver's type from SQL)
and returns the canonical form the diff compares, or the reason it was left out:

- :func:`normalize_name`: NFC, trimmed, inner whitespace collapsed; empty → ``None``.
- :func:`normalize_email`: ``(value, problem)``; the domain lower-cased, the local part
  kept as written; compare with :func:`email_key`.
- :func:`normalize_phone`: a :class:`PhoneResult` with the E.164 value and any extension,
  via the ``phonenumbers`` library (results cached; plain digit strings skip the
  library's slow text parsing but are still validated by it).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    PhoneNumber,
    PhoneNumberFormat,
)

__all__ = [
    "PhoneResult",
    "email_key",
    "is_valid_region",
    "normalize_email",
    "normalize_name",
    "normalize_phone",
]


def normalize_name(raw: object) -> str | None:
    """A name as it should be stored: NFC, trimmed, runs of whitespace made one space.

    ``None``, an empty or an all-whitespace value give ``None``.
    """
    if raw is None:
        return None
    text = " ".join(unicodedata.normalize("NFC", str(raw)).split())
    return text or None


# Invisible characters that copy-paste leaves in addresses; never part of one.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_SPACE = re.compile(r"\s")
_LOCAL_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f"(),:;<>\[\\\]]')
_DOMAIN_LABEL = re.compile(r"[^\W_]+(?:-+[^\W_]+)*")  # letters/digits (any script), hyphens


# A subset of the addresses _email_problem accepts: plain ASCII, short enough that no
# length limit applies, dot-separated atoms before the @, a domain whose last label
# starts with a letter. Most real addresses match; the rest take the full check.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9]+(?:-+[A-Za-z0-9]+)*\.)+[A-Za-z][A-Za-z0-9]*(?:-+[A-Za-z0-9]+)*"
)
_PLAIN_EMAIL_MAX = 64


def normalize_email(raw: object) -> tuple[str | None, str | None]:
    """An email address checked and cleaned, as ``(value, problem)``.

    Whitespace (any Unicode kind) is trimmed from the ends and invisible zero-width
    characters are removed everywhere; the domain is lower-cased, the local part kept.
    Empty gives ``(None, None)``; an address that cannot be right gives
    ``(None, reason)``.
    """
    if raw is None:
        return None, None
    if type(raw) is str and raw.isascii():  # nothing to compose, nothing invisible
        text = raw.strip()
        if len(text) <= _PLAIN_EMAIL_MAX and _PLAIN_EMAIL.fullmatch(text):
            local, _, domain = text.partition("@")
            return f"{local}@{domain.lower()}", None
    return _normalize_email_fully(raw)


def _normalize_email_fully(raw: object) -> tuple[str | None, str | None]:
    text = unicodedata.normalize("NFC", str(raw).translate(_INVISIBLE)).strip()
    if not text:
        return None, None
    problem = _email_problem(text)
    if problem is not None:
        return None, problem
    local, _, domain = text.partition("@")
    return f"{local}@{domain.lower()}", None


def email_key(value: str) -> str:
    """What two addresses are compared by: case-insensitive, as mail systems treat them."""
    return value.casefold()


def _email_problem(text: str) -> str | None:
    ats = text.count("@")
    if ats != 1:
        return "no @ in the address" if ats == 0 else "more than one @ in the address"
    local, _, domain = text.partition("@")
    if not local:
        return "nothing before the @"
    if not domain:
        return "nothing after the @"
    if _SPACE.search(text):
        return "the address contains a space"
    if ".." in text:
        return "the address contains consecutive dots"
    if len(local) > 64 or len(text) > 254:
        return "the address is too long"
    if local.startswith(".") or local.endswith("."):
        return "the part before the @ starts or ends with a dot"
    bad = _LOCAL_FORBIDDEN.search(local)
    if bad:
        return f"invalid character {bad.group()!r} before the @"
    return _domain_problem(domain)


def _domain_problem(domain: str) -> str | None:
    if "." not in domain:
        return "the domain has no dot"
    labels = domain.split(".")
    if not labels[0] or not labels[-1]:
        return "the domain starts or ends with a dot"
    for label in labels:
        if label.startswith("-") or label.endswith("-"):
            return f"the domain part {label!r} starts or ends with a hyphen"
        if len(label) > 63 or not _DOMAIN_LABEL.fullmatch(label):
            return f"the domain part {label!r} is not letters, digits and hyphens"
    if labels[-1].isdigit():
        return "the domain does not end in a name"
    return None


@dataclass(frozen=True, slots=True)
class PhoneResult:
    """A normalized phone number: E.164 and extension, or the reason it was left out."""

    e164: str | None = None
    extension: str | None = None
    problem: str | None = None


_EMPTY_PHONE = PhoneResult()
_NOT_A_NUMBER = PhoneResult(problem="not a phone number")
_TOO_BIG = 10**20  # more digits than any phone number (and cheap to compare with)
_CACHE_SIZE = 65536
_CACHEABLE_LENGTH = 64  # longer text is never a number; not worth a cache slot
_FORMATTING = dict.fromkeys(map(ord, " ()-./"))


def is_valid_region(code: str) -> bool:
    """Whether ``code`` is a region phonenumbers knows (ISO 3166 alpha-2, any case)."""
    return isinstance(code, str) and code.upper() in phonenumbers.SUPPORTED_REGIONS


def normalize_phone(raw: object, region: str | None) -> PhoneResult:
    """A phone number in E.164, with its extension apart, or the reason it is not one.

    ``+``-prefixed numbers are read internationally; others as dialled in ``region``
    (ISO 3166 alpha-2), and a ``00``/``011`` prefix is tried as an international one
    when the number is not valid as dialled from ``region``. Integers are accepted.
    """
    if raw is None:
        return _EMPTY_PHONE
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        digits = _integral_digits(raw)
        if digits is None:
            return _NOT_A_NUMBER
        text = digits
    else:
        text = str(raw).strip()
    if not text:
        return _EMPTY_PHONE
    region = region.strip().upper() or None if region else None
    if len(text) > _CACHEABLE_LENGTH:
        return _normalize_phone_text(text, region)
    return _cached_normalize_phone_text(text, region)


def _integral_digits(raw: int | float | Decimal) -> str | None:
    """The digits of a number a database handed over, or None if it cannot be a phone.

    4155550123.0 must not become the digits "41555501230"; a fraction, a negative, an
    infinity or a number longer than any phone number is not one.
    """
    if isinstance(raw, Decimal):
        integral = raw.is_finite() and raw == raw.to_integral_value()
    elif isinstance(raw, float):
        integral = math.isfinite(raw) and raw.is_integer()
    else:
        integral = True
    if not integral or raw < 0 or raw >= _TOO_BIG:
        return None
    return str(int(raw))


def _normalize_phone_text(text: str, region: str | None) -> PhoneResult:
    number = _parse_plain_digits(text, region)
    if number is not None and _is_valid(number):
        return PhoneResult(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    result = _parse_with_library(text, region)
    if result.e164 is None:
        alternative = _with_international_prefix(text)
        if alternative is not None:
            retried = _parse_with_library(alternative, region)
            if retried.e164 is not None:
                return retried
    return result


_cached_normalize_phone_text = lru_cache(maxsize=_CACHE_SIZE)(_normalize_phone_text)


def _parse_with_library(text: str, region: str | None) -> PhoneResult:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return PhoneResult(problem=_parse_problem(exc, text, region))
    if not _is_valid(number):
        return PhoneResult(problem=_invalid_problem(number, region))
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return PhoneResult(e164, number.extension or None)


def _with_international_prefix(text: str) -> str | None:
    """``00 44 …`` or ``011 44 …`` rewritten as ``+44 …``, or None."""
    stripped = text.lstrip(" (")
    for prefix in ("011", "00"):
        if stripped.startswith(prefix):
            return "+" + stripped[len(prefix) :]
    return None


def _parse_problem(exc: NumberParseException, text: str, region: str | None) -> str:
    kind = exc.error_type
    if kind == NumberParseException.INVALID_COUNTRY_CODE:
        if text.lstrip(" (").startswith(("+", "00", "011")):
            return "unknown country code"
        if region is None:
            return "no country code and no default_region"
        return f"no country code, and {region!r} is not a known region"
    if kind in (NumberParseException.TOO_SHORT_NSN, NumberParseException.TOO_SHORT_AFTER_IDD):
        return "too short to be a phone number"
    if kind == NumberParseException.TOO_LONG:
        return "too long to be a phone number"
    return "not a phone number"


def _invalid_problem(number: PhoneNumber, region: str | None) -> str:
    country_code = number.country_code or 0
    number_region: str | None = phonenumbers.region_code_for_country_code(country_code)
    if number_region == "001":  # non-geographic (+800, +882 …)
        return f"not a valid phone number for country code +{country_code}"
    if number_region in (None, "ZZ"):
        number_region = region
    return f"not a valid phone number for region {number_region}"


# Plain digit strings: the shape most exports use. phonenumbers.parse spends most of its
# time finding a number in free text; for these we build the PhoneNumber it would build.
# Each guard below sends a number back to parse() whenever parse() would transform it
# (IDD prefix, national prefix, country code written without +, Italian leading zero).
def _parse_plain_digits(text: str, region: str | None) -> PhoneNumber | None:
    digits = text.translate(_FORMATTING)
    if digits.startswith("+"):
        digits = digits[1:]
        if not _ascii_digits(digits) or digits[0] == "0":
            return None
        country_code, national = _split_country_code(digits)
        if country_code == 0:
            return None
        main_region = phonenumbers.region_code_for_country_code(country_code)
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, main_region)
    else:
        metadata = PhoneMetadata.metadata_for_region(region) if region else None
        if metadata is None or not _ascii_digits(digits):
            return None
        country_code, national = metadata.country_code or 0, digits
        if national.startswith(str(country_code)):
            return None
        if _matches(metadata.international_prefix, national):
            return None
    if metadata is None or not 2 <= len(national) <= 17 or national[0] == "0":
        return None
    if _matches(metadata.national_prefix_for_parsing, national):
        return None
    return PhoneNumber(country_code=country_code, national_number=int(national))


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _split_country_code(digits: str) -> tuple[int, str]:
    # Country codes are prefix-free: the first known prefix of 1-3 digits is the one.
    for length in (1, 2, 3):
        code = int(digits[:length])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            return code, digits[length:]
    return 0, digits


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _matches(pattern: str | None, digits: str) -> bool:
    return pattern is not None and _compiled(pattern).match(digits) is not None


def _is_valid(number: PhoneNumber) -> bool:
    """``phonenumbers.is_valid_number``, without its double work for common numbers.

    is_valid_number finds the number's region (for +1 and +44, by testing the number
    against each region sharing the code) and then tests it again for that region. When
    the code's main region claims it by type, that first test already is the answer.
    """
    country_code = number.country_code or 0
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if regions and _main_region_decides(country_code):
        valid_for_main = _region_validator(country_code, regions[0])
        if valid_for_main(phonenumbers.national_significant_number(number)):
            return True
        if len(regions) == 1:
            return False
    return bool(phonenumbers.is_valid_number(number))


# The number types phonenumbers' _number_type_helper tries, in its order.
_NUMBER_TYPES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail", "fixed_line", "mobile",
)


@cache
def _region_validator(country_code: int, region: str) -> Callable[[str], bool]:
    """``phonenumbers.is_valid_number_for_region`` for one region, over the national number.

    The same test on the same metadata (the number fits the region's general description
    and at least one number type), with the patterns compiled once: the library looks
    each of its ten patterns up again for every number, most of a first run's time.
    """
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    general = _desc_matcher(metadata.general_desc) if metadata is not None else None
    if metadata is None or general is None:
        return lambda _national: False
    names: tuple[str, ...] = _NUMBER_TYPES
    if metadata.same_mobile_and_fixed_line_pattern:  # the library skips mobile then
        names = tuple(n for n in names if n != "mobile")
    types = [m for m in (_desc_matcher(getattr(metadata, n, None)) for n in names) if m is not None]

    def valid(national: str) -> bool:
        if not general(national):
            return False
        return any(matches(national) for matches in types)

    return valid


def _desc_matcher(desc: Any) -> Callable[[str], bool] | None:
    """phonenumbers' ``_is_number_matching_desc`` for one description, compiled."""
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return None
    full = re.compile(pattern).fullmatch
    lengths = frozenset(desc.possible_length or ())
    if lengths:
        return lambda national: len(national) in lengths and full(national) is not None
    return lambda national: full(national) is not None


@cache
def _main_region_decides(country_code: int) -> bool:
    """Whether region_code_for_number tries the code's main region by type first."""
    regions = COUNTRY_CODE_TO_REGION_CODE[country_code]
    if len(regions) == 1:
        return True
    metadata = PhoneMetadata.metadata_for_region(regions[0])
    return metadata is not None and metadata.leading_digits is None
