"""Normalisation of attribute values by kind, so that equal things compare as equal strings.

Every normaliser takes a raw string and returns a normalised string, ``""`` meaning missing.
They never raise: a value that cannot be parsed (a phone number that is not one, a date
with month 13) keeps a best-effort digit/text form so that fuzzy levels can still use it.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import NamedTuple

import phonenumbers


class AttributeKind(StrEnum):
    """How an attribute is normalised and which comparison tests make sense for it."""

    TEXT = "text"
    NAME = "name"
    ORGANIZATION_NAME = "organization_name"
    DATE = "date"
    NUMBER = "number"
    EMAIL = "email"
    PHONE = "phone"
    IDENTIFIER = "identifier"
    POSTCODE = "postcode"
    ADDRESS = "address"
    URL = "url"
    COUNTRY = "country"


@dataclass(frozen=True, slots=True)
class NormalisationOptions:
    """Knobs of normalisation that depend on the data's origin."""

    phone_region: str = "US"
    day_first: bool = True
    gmail_canonical: bool = True


_PUNCTUATION_TO_SPACE = str.maketrans({c: " " for c in string.punctuation + "\t\n\r"})
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]+")
_DIGIT_GROUPS = re.compile(r"\d+")
_WORDS = re.compile(r"[a-z]+")

_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev"})

_LEGAL_FORMS = frozenset(
    {
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "llc",
        "llp",
        "lp",
        "plc",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "oy",
        "ab",
        "as",
        "pty",
        "pte",
        "kk",
        "kg",
        "dac",
        "sl",
        "the",
    }
)

# Spelled-out legal forms, removed as phrases before single-word forms are dropped.
_LEGAL_FORM_PHRASES = tuple(
    f" {phrase} "
    for phrase in (
        "public limited company",
        "limited liability company",
        "limited liability partnership",
        "designated activity company",
        "proprietary limited",
        "private limited",
        "gesellschaft mit beschrankter haftung",
        "aktiengesellschaft",
        "societe anonyme",
        "societe a responsabilite limitee",
        "sociedad limitada",
        "sociedad anonima",
        "societa per azioni",
        "societa a responsabilita limitata",
        "besloten vennootschap",
        "naamloze vennootschap",
        "kabushiki kaisha",
        "l l c",
        "s a r l",
        "s p a",
        "s r l",
        "b v",
        "n v",
        "s a",
        "s l",
        "k k",
    )
)

_ADDRESS_ABBREVIATIONS = {
    "street": "st",
    "str": "st",
    "road": "rd",
    "avenue": "ave",
    "av": "ave",
    "drive": "dr",
    "place": "pl",
    "crescent": "cres",
    "court": "ct",
    "lane": "ln",
    "boulevard": "blvd",
    "circuit": "cct",
    "close": "cl",
    "terrace": "tce",
    "parade": "pde",
    "highway": "hwy",
    "square": "sq",
    "apartment": "apt",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
}

_COUNTRY_ALIASES = {
    "united kingdom": "gb",
    "uk": "gb",
    "great britain": "gb",
    "england": "gb",
    "scotland": "gb",
    "wales": "gb",
    "united states": "us",
    "united states of america": "us",
    "usa": "us",
    "america": "us",
    "australia": "au",
    "canada": "ca",
    "germany": "de",
    "deutschland": "de",
    "france": "fr",
    "spain": "es",
    "italy": "it",
    "ireland": "ie",
    "netherlands": "nl",
    "new zealand": "nz",
    "india": "in",
    "china": "cn",
    "japan": "jp",
    "brazil": "br",
    "mexico": "mx",
    "switzerland": "ch",
    "sweden": "se",
    "norway": "no",
    "denmark": "dk",
    "belgium": "be",
    "austria": "at",
    "poland": "pl",
    "portugal": "pt",
}

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}

_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def normalise_text(raw: str) -> str:
    """Lowercase, accents removed, punctuation as spaces, single spaces, trimmed."""
    if not raw.isascii():
        decomposed = unicodedata.normalize("NFKD", raw)
        raw = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(raw.lower().translate(_PUNCTUATION_TO_SPACE).split())


def normalise_name(raw: str) -> str:
    """A person's name as text without honorifics ("Dr. Ann O'Neil" -> "ann o neil")."""
    tokens = normalise_text(raw).split()
    kept = [t for t in tokens if t not in _HONORIFICS]
    return " ".join(kept if kept else tokens)


def normalise_organization_name(raw: str) -> str:
    """An organisation name as text without legal forms ("The Acme Co., Ltd." -> "acme")."""
    text = f" {normalise_text(raw.replace('&', ' and '))} "
    for phrase in _LEGAL_FORM_PHRASES:
        if phrase in text:
            text = text.replace(phrase, " ")
    tokens = text.split()
    kept = [t for t in tokens if t not in _LEGAL_FORMS]
    return " ".join(kept if kept else tokens)


def normalise_address(raw: str) -> str:
    """A street address as text with the usual street-type words abbreviated."""
    return " ".join(_ADDRESS_ABBREVIATIONS.get(t, t) for t in normalise_text(raw).split())


def normalise_identifier(raw: str) -> str:
    """An identifier without spaces or punctuation, uppercased ("ab-12 3" -> "AB123")."""
    return _NON_ALNUM.sub("", raw).upper()


def normalise_postcode(raw: str) -> str:
    """A postcode without spaces or punctuation, uppercased ("sw1a 1aa" -> "SW1A1AA")."""
    return _NON_ALNUM.sub("", raw).upper()


def normalise_email(raw: str, *, gmail_canonical: bool = True) -> str:
    """An email lowercased; for Gmail, dots and ``+tags`` of the local part removed."""
    email = raw.strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain:
        return email
    if gmail_canonical and domain in _GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


_PLAIN_INTERNATIONAL = re.compile(r"\+[0-9][0-9 .\-]{6,20}")


def normalise_phone(raw: str, *, region: str = "US") -> str:
    """A phone number in E.164 (``+441632960961``), or its digits when it cannot be parsed."""
    if _PLAIN_INTERNATIONAL.fullmatch(raw):
        # Already international with only separators: E.164 is "+" and the digits. Parsing
        # with libphonenumber would give the same, at a hundred times the cost.
        return "+" + "".join(_DIGIT_GROUPS.findall(raw))
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return "".join(_DIGIT_GROUPS.findall(raw))


def normalise_url(raw: str) -> str:
    """A website as its host name without ``www.`` ("https://www.Acme.com/x" -> "acme.com")."""
    url = raw.strip().lower()
    if "://" in url:
        url = url.split("://", 1)[1]
    host = re.split(r"[/?#:]", url, maxsplit=1)[0]
    host = host.removeprefix("www.")
    return host.strip(".")


def normalise_country(raw: str) -> str:
    """A country as a lowercase ISO 3166 alpha-2 code where known, else as text."""
    text = normalise_text(raw)
    return _COUNTRY_ALIASES.get(text, text)


def normalise_number(raw: str) -> str:
    """A number in plain decimal form ("1,234.50" -> "1234.5"), or ``""`` if none."""
    cleaned = raw.replace(",", "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        return ""
    if value != value or value in (float("inf"), float("-inf")):
        return ""
    return repr(int(value)) if value.is_integer() else repr(value)


class ParsedDate(NamedTuple):
    """A date as a canonical ``YYYYMMDD`` string and parts; parts are 0 when unknown.

    ``ordinal`` is the proleptic Gregorian day number, or -1 when the date is not a real
    calendar date (a corrupted "19160017" keeps its text and year but has no ordinal).
    """

    text: str
    year: int
    month: int
    day: int
    ordinal: int


MISSING_DATE = ParsedDate("", 0, 0, 0, -1)


def _full_year(year: int, width: int) -> int:
    if width > 2:
        return year
    return 1900 + year if year >= 30 else 2000 + year


def parse_date(raw: str, *, day_first: bool = True) -> ParsedDate:
    """Parse ISO, ``YYYYMMDD``, ``D/M/Y`` (or ``M/D/Y``) and "1 May 1977" style dates."""
    text = raw.strip().lower()
    groups = _DIGIT_GROUPS.findall(text)
    month_word = next((_MONTHS[w] for w in _WORDS.findall(text) if w in _MONTHS), 0)
    year = month = day = 0
    if len(groups) == 1 and len(groups[0]) == 8:
        digits = groups[0]
        if 1800 <= int(digits[:4]) <= 2200:
            year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:])
        elif day_first:
            day, month, year = int(digits[:2]), int(digits[2:4]), int(digits[4:])
        else:
            month, day, year = int(digits[:2]), int(digits[2:4]), int(digits[4:])
    elif len(groups) == 2 and month_word:
        first, second = groups
        if len(first) == 4:
            year, day = int(first), int(second)
        else:
            day, year = int(first), _full_year(int(second), len(second))
        month = month_word
    elif len(groups) >= 3:
        first, second, third = groups[:3]
        if len(first) == 4:
            year, month, day = int(first), int(second), int(third)
        elif day_first:
            day, month, year = int(first), int(second), _full_year(int(third), len(third))
        else:
            month, day, year = int(first), int(second), _full_year(int(third), len(third))
    elif len(groups) == 1 and len(groups[0]) == 4:
        year = int(groups[0])
    else:
        return MISSING_DATE
    try:
        ordinal = date(year, month, day).toordinal()
    except ValueError:
        ordinal = -1
    return ParsedDate(f"{year:04d}{month:02d}{day:02d}", year, month, day, ordinal)


def normalise_value(raw: str, kind: AttributeKind, options: NormalisationOptions) -> str:
    """The normalised form of ``raw`` for an attribute of ``kind`` (``""`` if missing)."""
    match kind:
        case AttributeKind.TEXT:
            return normalise_text(raw)
        case AttributeKind.NAME:
            return normalise_name(raw)
        case AttributeKind.ORGANIZATION_NAME:
            return normalise_organization_name(raw)
        case AttributeKind.ADDRESS:
            return normalise_address(raw)
        case AttributeKind.IDENTIFIER:
            return normalise_identifier(raw)
        case AttributeKind.POSTCODE:
            return normalise_postcode(raw)
        case AttributeKind.EMAIL:
            return normalise_email(raw, gmail_canonical=options.gmail_canonical)
        case AttributeKind.PHONE:
            return normalise_phone(raw, region=options.phone_region)
        case AttributeKind.URL:
            return normalise_url(raw)
        case AttributeKind.COUNTRY:
            return normalise_country(raw)
        case AttributeKind.NUMBER:
            return normalise_number(raw)
        case AttributeKind.DATE:
            return parse_date(raw, day_first=options.day_first).text
