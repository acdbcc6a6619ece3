"""Fictional people, organisations and contact details (the synthetic PII the redaction step removes).

Every person is invented: first names and surnames are combined at random from lists of
deliberately uncommon surnames, and no real executive, analyst or official is ever named, so a
fabricated event is never attached to a real person. Contact details use reserved ranges only:
``.example`` domains (RFC 2606), US 555-01xx numbers and UK 020 7946 0xxx drama numbers (Ofcom),
and IBANs with valid mod-97 check digits for fictional bank codes.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

# fmt: off
FIRST_NAMES = (
    "Adaeze", "Alaric", "Anneliese", "Bastian", "Beatrix", "Caspian", "Celestine", "Dashiell", "Delphine", "Emrys",
    "Esmeralda", "Evander", "Fenella", "Florian", "Greer", "Hollis", "Ingrid", "Ione", "Jericho", "Juniper",
    "Kasimir", "Leocadia", "Linnea", "Lysander", "Marisol", "Mireille", "Nikolai", "Octavia", "Orrin", "Perpetua",
    "Quintus", "Rosalind", "Saoirse", "Severin", "Sunniva", "Tamsin", "Thaddeus", "Ulrika", "Valentin", "Wilhelmina",
    "Xanthe", "Yannick", "Zephyrine", "Anouk", "Bertram", "Cordelia", "Darius", "Elowen", "Fitzroy", "Guinevere",
    "Hamish", "Isolde", "Jovan", "Kalinda", "Lorcan", "Mathilde", "Nerissa", "Oisin", "Priyanka", "Rafferty",
)
# fmt: on
# fmt: off
SURNAMES = (
    "Quenneville", "Hartwell-Anand", "Vantreight", "Osterhagen", "Pemberton-Vale", "Achterberg", "Castellane",
    "Brightwater", "Okonkwo-Hale", "Ravensdale", "Thornbury", "Delacroix-Ng", "Marchetti-Cole", "Lindqvist",
    "Fairbrook", "Sandoval-Reyes", "Whitcombe", "Abernethy", "Kowalczyk-Dunn", "Halloran", "Vasquez-Morrow",
    "Tremayne", "Oyelaran", "Blackstaff", "Eriksdottir", "Montague-Lowe", "Ashgrove", "Zielinski-Park",
    "Cavendish-Rao", "Dunmore", "Featherstone", "Galloway-Iyer", "Holmquist", "Ingleby", "Jarosz", "Kettleburn",
    "Larkspur", "Merriweather", "Nakashima-Byrne", "Ormsby", "Penhallow", "Quarrington", "Rothwell-Sato",
    "Silverthorne", "Trevelyan", "Umberfield", "Valcourt", "Wexley", "Yardley-Osei", "Zabriskie",
)
# fmt: on


@dataclass(frozen=True)
class Organization:
    name: str
    domain: str  # always under .example
    city: str  # "new_york" or "london": which fictional phone range its staff get


BROKERS = (
    Organization("Northbridge Securities", "northbridge-securities.example", "new_york"),
    Organization("Halvorsen & Pike", "halvorsenpike.example", "new_york"),
    Organization("Calder Ridge Capital", "calderridge.example", "new_york"),
    Organization("Wexford Lane Research", "wexfordlane.example", "london"),
    Organization("Albright Mercer & Co.", "albrightmercer.example", "new_york"),
    Organization("Tamsin Bay Partners", "tamsinbay.example", "london"),
    Organization("Corvid Street Equity Research", "corvidstreet.example", "new_york"),
    Organization("Ostrander Kells", "ostranderkells.example", "london"),
)
HOUSE = Organization("Argus Research", "argus-research.example", "new_york")
RATING_AGENCIES = ("Kestrel Ratings", "Albion Credit Ratings", "Meridian Rating Service")
NEWSWIRES = ("Argus demo newswire", "Ledger Street Wire (demo)", "Marketline Daily (demo)")

_NY_AREA_CODES = ("212", "646", "917", "332")


@dataclass(frozen=True)
class Person:
    name: str
    title: str
    organization: str
    email: str
    phone: str


def person_name(rng: random.Random, taken: set[str] | None = None) -> str:
    """A first name and surname drawn at random; ``taken`` keeps names unique within a corpus."""
    for _ in range(1000):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
        if taken is None or name not in taken:
            if taken is not None:
                taken.add(name)
            return name
    raise RuntimeError("ran out of fictional names")


def email_for(name: str, domain: str, rng: random.Random) -> str:
    first, last = name.lower().split(" ", 1)
    last = re.sub(r"[^a-z]", "", last)
    local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}", f"{first[0]}.{last}"))
    return f"{local}@{domain}"


def phone_for(city: str, rng: random.Random) -> str:
    if city == "london":
        return f"+44 20 7946 0{rng.randint(0, 999):03d}"
    area = rng.choice(_NY_AREA_CODES)
    return rng.choice((f"+1 ({area}) 555-01{rng.randint(0, 99):02d}", f"({area}) 555-01{rng.randint(0, 99):02d}"))


def make_person(rng: random.Random, *, title: str, organization: Organization, taken: set[str] | None = None) -> Person:
    name = person_name(rng, taken)
    return Person(
        name, title, organization.name, email_for(name, organization.domain, rng), phone_for(organization.city, rng)
    )


# --- bank details ----------------------------------------------------------------------------------

_IBAN_SHAPES = {
    # country: (bank-code letters, digits after them); lengths follow ISO 13616 for each country.
    "GB": (4, 14),  # bank code, sort code (6) and account number (8)
    "NL": (4, 10),
    "DE": (0, 18),
    "FR": (0, 23),
    "IE": (4, 14),
}


def iban_check_digits(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    number = int("".join(str(int(ch, 36)) for ch in rearranged))
    return f"{98 - number % 97:02d}"


def make_iban(rng: random.Random, country: str | None = None) -> str:
    """A checksum-valid IBAN for a fictional bank, printed in groups of four."""
    country = country or rng.choice(sorted(_IBAN_SHAPES))
    letters, digits = _IBAN_SHAPES[country]
    bank = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXZ") for _ in range(letters))
    bban = bank + "".join(str(rng.randint(0, 9)) for _ in range(digits))
    iban = country + iban_check_digits(country, bban) + bban
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def iban_is_valid(iban: str) -> bool:
    compact = iban.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def make_account_number(rng: random.Random) -> str:
    return str(rng.randint(10_000_000, 99_999_999))


def make_bic(rng: random.Random, country: str) -> str:
    return (
        "".join(rng.choice("ABCDEFGHKLMNPRSTUVWXZ") for _ in range(4)) + country + rng.choice(("2L", "22", "33", "PP"))
    )
