"""Generate the example export, deterministically: sync/examples/contacts.csv (what
`sync demo` runs) and an identical copy at examples/contacts.csv (what config.example.toml
and the README's walkthrough use; a user edits that one, never the demo's).

A few hundred rows as a CRM or a spreadsheet exports them: a UTF-8 BOM, CRLF line ends,
phone numbers in every format people type (all in the ranges reserved for fiction), mixed
case emails with stray spaces, a column the mapping ignores, and some bad rows on purpose
(no id, a repeated id, an invalid phone, an invalid email, an unparseable number and date).

Run: python scripts/make_example_contacts.py
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTS = (ROOT / "sync" / "examples" / "contacts.csv", ROOT / "examples" / "contacts.csv")

FIRST = ["Ava", "Liam", "Noah", "Emma", "Olivia", "Mateo", "Sofia", "Lucas", "Mia", "Ethan",
         "Chloé", "Zoë", "José", "Björn", "Priya", "Wei", "Aisha", "Kenji", "Fatima", "Oscar",
         "Hannah", "Diego", "Ingrid", "Yusuf", "Grace", "Leo", "Nora", "Omar", "Elena", "Sam"]
LAST = ["Smith", "García", "Müller", "Nguyen", "O'Brien", "Kowalski", "Rossi", "Dubois",
        "Okafor", "Tanaka", "Johansson", "Patel", "Cohen", "Silva", "Kim", "Murphy", "Novak",
        "Andersen", "Haddad", "Fischer", "López", "Brown", "Ivanova", "Costa", "Walker"]
COMPANIES = ["Acme Corp", "Globex", "Initech", "Umbrella Health", "Stark Logistics",
             "Wayne Dental", "Hooli", "Vandelay Imports", "Soylent Foods", "Tyrell Realty",
             "Cyberdyne Labs", "Wonka Bakery", "Pied Piper", "Oceanic Travel", ""]
TITLES = ["Owner", "Office Manager", "CEO", "Buyer", "Head of Ops", "Receptionist", "CFO", ""]
LEAD = ["Website", "Referral", "Trade show", "Cold call", "Partner", ""]
TIERS = ["Gold", "Silver", "Bronze", ""]
TAGS = ["vip", "newsletter", "wholesale", "retail", "renewal-due", "spanish-speaking"]


def us_phone(rng: random.Random) -> str:
    area = rng.choice(["212", "415", "646", "312", "617", "303", "512"])
    line = f"01{rng.randint(0, 99):02d}"
    return rng.choice([
        f"({area}) 555-{line}", f"{area}-555-{line}", f"{area}.555.{line}",
        f"+1 {area} 555 {line}", f"1{area}555{line}", f"+1-{area}-555-{line}",
        f"{area} 555 {line} x{rng.randint(10, 999)}",
    ])


def intl_phone(rng: random.Random) -> tuple[str, str]:
    return rng.choice([
        (f"020 7946 0{rng.randint(0, 999):03d}", "GB"),
        (f"+44 20 7946 0{rng.randint(0, 999):03d}", ""),
        (f"0491 570 {rng.randint(100, 999)}", "AU"),
        (f"+61 2 5550 {rng.randint(1000, 9999)}", ""),
    ])


def email(rng: random.Random, first: str, last: str, company: str) -> str:
    domain = (company.split()[0].lower() if company else rng.choice(["gmail", "outlook"])) + ".example"
    base = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
    base = base.encode("ascii", "ignore").decode() or "contact"
    value = f"{base}@{domain}"
    return rng.choice([value, value.upper(), f" {value} ", value.title(), value])


def row(rng: random.Random, n: int) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company = rng.choice(COMPANIES)
    country, mobile = "", us_phone(rng)
    if rng.random() < 0.15:
        mobile, country = intl_phone(rng)
    office = us_phone(rng) if rng.random() < 0.3 else ""
    year, month, day = rng.choice([2025, 2026, 2027]), rng.randint(1, 12), rng.randint(1, 28)
    return {
        "id": f"C-{1000 + n}",
        "First Name": first if rng.random() > 0.02 else f"  {first} ",
        "Last Name": last,
        "Company": company,
        "Title": rng.choice(TITLES),
        "Email": email(rng, first, last, company) if rng.random() > 0.1 else "",
        "Mobile": mobile,
        "Office": office,
        "Country": country,
        "Lead Source": rng.choice(LEAD),
        "Tier": rng.choice(TIERS),
        "Renewal": f"{year}-{month:02d}-{day:02d}" if rng.random() > 0.3 else "",
        "Tags": ";".join(rng.sample(TAGS, rng.randint(0, 3))),
        "VIP": rng.choice(["yes", "no", "", "Y", "TRUE", "x"]),
        "Revenue": rng.choice(["", "12,500", "980", "1,250,000.50", "45000", "7.5"]),
        "Website": rng.choice(["", "https://example.com", "https://www.example.org/about", ""]),
        "Internal Notes": rng.choice(["", "call after 3pm", "prefers email", "do not call on Fridays"]),
    }


def main() -> None:
    rng = random.Random(20261203)
    rows = [row(rng, n) for n in range(300)]
    # The bad rows a real export always has, each a case the report must name.
    rows[17]["id"] = ""                                  # no key
    rows[42]["id"] = rows[41]["id"]                      # repeated key: both rejected
    rows[58]["Mobile"] = "12345"                          # not a phone number: value left out
    rows[73]["Email"] = "maria.lopez@@example"           # not an email: value left out
    rows[88]["Revenue"] = "lots"                          # not a number: value left out
    rows[95]["Renewal"] = "2026-02-30"                    # no such date: value left out
    rows[120].update({"First Name": "", "Last Name": "", "Company": "", "Email": "",
                      "Mobile": "n/a", "Office": ""})      # nothing to sync: row rejected
    rows[150]["Website"] = "www.example.net"             # no scheme: value left out
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    buffer.write("\r\n")                                  # a trailing blank line, as Excel leaves
    for out in OUTS:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))
        print(f"wrote {len(rows)} rows to {out}")


if __name__ == "__main__":
    main()
