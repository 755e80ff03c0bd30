"""Deterministic test data: contact rows as a CRM export would hold them.

Every row is generated from its number and a seed, so the same call always gives the same
file. Phone numbers are real-looking US numbers (valid area code and exchange, so
normalization does its full work) written in the formats exports use; e-mail addresses
and names vary per row, so no cache makes the first run artificially cheap.

:func:`expected_contact` builds the contact the engine should make of a row without
running the normalizers; the state builder uses it, and checks it against the real mapper
on a sample (see :mod:`bench.state_seed`).
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sync.models import Contact, Item

HEADER = ("id", "First Name", "Last Name", "Company", "Email", "Mobile", "Tier", "Notes")
TIER_FIELD_KEY = "66f1c2a4e9b07d3a5c8e1f21"  # "Account Tier" in the sandbox's default fields
DATA_VERSION = 1  # bump when the generator changes: cached files are then rebuilt

_FIRST = ("Ada", "Ben", "Chloé", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal",
          "Kai", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
          "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe")
_LAST = ("Adams", "Brown", "Chen", "Diaz", "Evans", "Fischer", "García", "Hughes", "Ito",
         "Jones", "Kowalski", "López", "Müller", "Nguyen", "O'Brien", "Patel", "Quinlan",
         "Rossi", "Smith", "Tanaka", "Usman", "Varga", "Wright", "Xu", "Young", "Zhang")
_COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay Industries",
              "Stark & Co", "Wayne Enterprises", "Tyrell", "Cyberdyne", "")
_DOMAINS = ("example.com", "example.org", "Example.NET", "mail.example.com")
_TIERS = ("Gold", "Silver", "Bronze", "")
_AREAS = ("212", "415", "646", "312", "617", "206", "303", "512", "305", "404", "213", "718",
          "702", "615", "503", "619", "801", "919", "713", "214")


@dataclass(frozen=True, slots=True)
class Person:
    """One generated row, with the E.164 number its phone cell stands for."""

    key: str
    first: str
    last: str
    company: str
    email: str
    phone_text: str
    e164: str
    tier: str
    notes: str

    def cells(self) -> tuple[str, ...]:
        """The row's cells, in :data:`HEADER` order."""
        return (self.key, self.first, self.last, self.company, self.email, self.phone_text,
                self.tier, self.notes)


class _Draws:
    """Seeded draws for one row: a 256-bit hash of (seed, row, version), spent a piece at a time.

    Random access (row ``n`` alone can be rebuilt) and far cheaper than seeding a
    ``random.Random`` per row.
    """

    def __init__(self, seed: int, n: int, version: int) -> None:
        digest = hashlib.blake2b(f"{seed}:{n}:{version}".encode(), digest_size=32).digest()
        self.bits = int.from_bytes(digest, "little")

    def below(self, bound: int) -> int:
        """A number in ``range(bound)``."""
        self.bits, value = divmod(self.bits, bound)
        return value

    def choice(self, options: Sequence[str]) -> str:
        """One of ``options``."""
        return options[self.below(len(options))]


def _phone(draw: _Draws) -> tuple[str, str]:
    """A valid US number in one of the shapes exports use, and its E.164 form."""
    area = draw.choice(_AREAS)
    exchange = str(200 + draw.below(800))
    if exchange[1:] == "11" or exchange == "555":
        exchange = "456"
    line = f"{draw.below(10_000):04d}"
    text = (
        f"({area}) {exchange}-{line}",
        f"{area}-{exchange}-{line}",
        f"+1 {area} {exchange} {line}",
        f"{area}{exchange}{line}",
        f"{area}.{exchange}.{line}",
    )[draw.below(5)]
    return text, f"+1{area}{exchange}{line}"


def person(n: int, seed: int, version: int = 0) -> Person:
    """Row ``n`` (``version`` > 0 gives the same key with other values: an edited row)."""
    draw = _Draws(seed, n, version)
    first, last = draw.choice(_FIRST), draw.choice(_LAST)
    domain = draw.choice(_DOMAINS)
    email = f"{first[0].lower()}.{last.lower().replace(chr(39), '')}{n}@{domain}"
    phone_text, e164 = _phone(draw)
    notes = "" if draw.below(10) < 7 else f"met at event {draw.below(100)}"
    return Person(f"C{n:07d}", first, last, draw.choice(_COMPANIES), email, phone_text, e164,
                  draw.choice(_TIERS), notes)


def people(count: int, seed: int, changed: frozenset[int] = frozenset()) -> Iterator[Person]:
    """Rows 0..count-1; the rows numbered in ``changed`` come in their edited version."""
    for n in range(count):
        yield person(n, seed, 1 if n in changed else 0)


def changed_rows(count: int, fraction: float, seed: int) -> frozenset[int]:
    """Which rows an edit touches: a seeded sample of ``fraction`` of them."""
    rng = random.Random(f"{seed}:changes")
    return frozenset(rng.sample(range(count), round(count * fraction)))


def write_csv(path: Path, rows: Iterator[Person]) -> int:
    """Write rows as a UTF-8 CSV with a header; returns how many rows were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for p in rows:
            writer.writerow(p.cells())
            written += 1
    tmp.replace(path)
    return written


def cached_csv(directory: Path, count: int, seed: int, changed: frozenset[int] = frozenset(),
               tag: str = "base") -> Path:
    """The CSV of these rows in ``directory``, generated once and reused afterwards."""
    path = directory / f"contacts-v{DATA_VERSION}-{count}-s{seed}-{tag}.csv"
    if not path.exists():
        write_csv(path, people(count, seed, changed))
    return path


def expected_contact(p: Person) -> Contact:
    """The contact the mapping of :func:`bench.common.source_toml` makes of this row."""
    local, _, domain = p.email.partition("@")
    return Contact(
        external_id=p.key,
        first_name=p.first,
        last_name=p.last,
        company=p.company or None,
        emails=(Item("work", f"{local}@{domain.lower()}"),),
        phone_numbers=(Item("mobile", p.e164),),
        custom_fields={TIER_FIELD_KEY: p.tier or None},
    )
