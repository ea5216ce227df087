from __future__ import annotations

import pytest

from intelgraph.er.engine.normalisation import (
    normalise_address,
    normalise_country,
    normalise_email,
    normalise_identifier,
    normalise_name,
    normalise_number,
    normalise_organization_name,
    normalise_phone,
    normalise_url,
    parse_date,
)


def test_text_loses_case_accents_and_punctuation() -> None:
    assert normalise_name("  Dr. José  O'Neil ") == "jose o neil"


def test_gmail_addresses_ignore_dots_and_plus_tags() -> None:
    assert normalise_email("Ada.Lovelace+news@GoogleMail.com") == "adalovelace@gmail.com"


def test_gmail_rules_can_be_turned_off() -> None:
    assert normalise_email("Ada.Lovelace+x@gmail.com", gmail_canonical=False) == (
        "ada.lovelace+x@gmail.com"
    )


def test_other_mail_domains_keep_dots() -> None:
    assert normalise_email("Ada.Lovelace@Example.COM") == "ada.lovelace@example.com"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("020 7946 0123", "GB", "+442079460123"),
        ("+44 (0) 20 7946 0123", "US", "+442079460123"),
        ("+44 20 7946 0123", "US", "+442079460123"),
        ("(415) 555-0100", "US", "+14155550100"),
    ],
)
def test_phones_become_e164(raw: str, region: str, expected: str) -> None:
    assert normalise_phone(raw, region=region) == expected


def test_an_unparseable_phone_keeps_its_digits() -> None:
    assert normalise_phone("ext. 12", region="GB") == "12"


def test_identifiers_lose_spaces_and_punctuation_and_are_uppercased() -> None:
    assert normalise_identifier(" ab-12 3/x ") == "AB123X"


def test_legal_forms_are_dropped_from_organisation_names() -> None:
    assert normalise_organization_name("The Acme Co., Ltd.") == "acme"
    assert normalise_organization_name("Ember Construction Designated Activity Company") == (
        normalise_organization_name("Ember Construction DAC")
    )
    assert normalise_organization_name("Smith & Jones S.p.A.") == "smith and jones"


def test_street_types_are_abbreviated_one_way() -> None:
    assert normalise_address("12 Castle Street") == normalise_address("12 castle st.")


def test_websites_compare_by_host() -> None:
    assert normalise_url("https://www.Acme.example/about?x=1") == "acme.example"
    assert normalise_url("acme.example") == "acme.example"


def test_country_names_become_iso_codes() -> None:
    assert normalise_country("United Kingdom") == "gb"
    assert normalise_country("GB") == "gb"


def test_numbers_are_written_one_way() -> None:
    assert normalise_number("1,234.50") == "1234.5"
    assert normalise_number("12") == "12"
    assert normalise_number("twelve") == ""


@pytest.mark.parametrize(
    ("raw", "day_first", "expected"),
    [
        ("1984-03-07", True, ("19840307", 1984, 3, 7)),
        ("19840307", True, ("19840307", 1984, 3, 7)),
        ("07/03/1984", True, ("19840307", 1984, 3, 7)),
        ("03/07/1984", False, ("19840307", 1984, 3, 7)),
        ("7 March 1984", True, ("19840307", 1984, 3, 7)),
    ],
)
def test_dates_parse_in_common_layouts(
    raw: str, day_first: bool, expected: tuple[str, int, int, int]
) -> None:
    parsed = parse_date(raw, day_first=day_first)
    assert (parsed.text, parsed.year, parsed.month, parsed.day) == expected
    assert parsed.ordinal > 0


def test_an_impossible_date_keeps_its_text_but_has_no_ordinal() -> None:
    parsed = parse_date("19160017")
    assert parsed.text == "19160017"
    assert parsed.year == 1916
    assert parsed.ordinal == -1


def test_a_date_without_digits_is_missing() -> None:
    assert parse_date("unknown").text == ""
