"""Each comparator's levels, through the default configs and a purpose-built one."""

from __future__ import annotations

import pytest

from intelgraph.er.engine.config import default_config, parse_config

from .support import level_of, levels_of, organization, person


def test_identical_names_are_exact() -> None:
    assert level_of(
        "surname", person("a", surname="Lovelace"), person("b", surname="lovelace")
    ) == ("exact")


def test_a_one_letter_typo_in_a_surname_is_a_close_jaro_winkler_match() -> None:
    level = level_of("surname", person("a", surname="Lovelace"), person("b", surname="Lovelcae"))
    assert level == "jw_0.92"


def test_a_looser_surname_falls_to_the_lower_band() -> None:
    level = level_of("surname", person("a", surname="Thompson"), person("b", surname="Thomasin"))
    assert level == "jw_0.8"


def test_surnames_that_only_sound_alike_are_phonetic() -> None:
    level = level_of("surname", person("a", surname="Knight"), person("b", surname="Nite"))
    assert level == "phonetic"


def test_unrelated_surnames_are_else() -> None:
    assert level_of("surname", person("a", surname="Lovelace"), person("b", surname="Zhou")) == (
        "else"
    )


def test_a_missing_side_is_the_null_level() -> None:
    assert level_of("surname", person("a", surname="Lovelace"), person("b")) == "null"
    assert level_of("surname", person("a", surname="  "), person("b", surname="Lovelace")) == (
        "null"
    )


def test_nicknames_agree_on_the_nickname_level() -> None:
    level = level_of(
        "given_name", person("a", given_name="William"), person("b", given_name="Bill")
    )
    assert level == "nickname"


def test_an_initial_agrees_with_a_name_it_could_stand_for() -> None:
    level = level_of("given_name", person("a", given_name="J"), person("b", given_name="Jolene"))
    assert level == "initial"


def test_given_name_and_surname_written_the_other_way_round_still_agree() -> None:
    levels = levels_of(
        default_config("PERSON"),
        person("a", given_name="Ada", surname="Lovelace"),
        person("b", given_name="Lovelace", surname="Ada"),
    )
    assert levels["given_name"] == "exact"
    assert levels["surname"] == "exact"


def test_swapped_names_with_a_typo_still_agree_closely() -> None:
    levels = levels_of(
        default_config("PERSON"),
        person("a", given_name="Mikhayla", surname="Hannagan"),
        person("b", given_name="Hannaan", surname="Mikhayla"),
    )
    assert levels["given_name"] == "exact"
    assert levels["surname"] == "jw_0.92"


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("1984-03-07", "07/03/1984", "exact"),
        ("1984-03-07", "1984-07-03", "day_month_transposed"),
        ("1984-03-07", "1984-03-08", "one_edit"),
        ("1984-03-07", "1984-03-30", "within_31_days"),
        ("1984-03-07", "1985-11-20", "year_within_1"),
        ("1984-03-07", "1950-11-20", "else"),
        ("19160017", "19161017", "one_edit"),
    ],
)
def test_date_levels(left: str, right: str, expected: str) -> None:
    assert level_of("dob", person("a", dob=left), person("b", dob=right)) == expected


def test_emails_compare_after_normalisation() -> None:
    level = level_of(
        "email",
        person("a", email="Ada.Lovelace+work@gmail.com"),
        person("b", email="adalovelace@googlemail.com"),
    )
    assert level == "exact"


def test_phones_compare_in_e164_reading_national_numbers_in_the_records_country() -> None:
    level = level_of(
        "phone",
        person("a", phone="020 7946 0123", country="United Kingdom"),
        person("b", phone="+44 20 7946 0123"),
    )
    assert level == "exact"


def test_a_phone_with_one_wrong_digit_is_one_edit_away() -> None:
    level = level_of(
        "phone", person("a", phone="+442079460123"), person("b", phone="+442079460128")
    )
    assert level == "one_edit"


def test_identifiers_compare_without_punctuation_and_allow_small_edits() -> None:
    assert level_of(
        "national_id", person("a", national_id="942-73-7177"), person("b", national_id="942737177")
    ) == ("exact")
    assert level_of(
        "national_id", person("a", national_id="942737177"), person("b", national_id="942737717")
    ) == ("one_edit")
    assert level_of(
        "national_id", person("a", national_id="942737177"), person("b", national_id="942730077")
    ) == ("two_edits")


def test_street_tokens_in_another_order_agree() -> None:
    level = level_of(
        "street",
        person("a", street="20 Rupp Place Brentwood Village"),
        person("b", street="20 Brentwood Village Rupp Place"),
    )
    assert level == "tokens_0.9"


def test_organisation_names_agree_across_legal_forms() -> None:
    level = level_of(
        "name",
        organization("a", name="Murray Metals Limited"),
        organization("b", name="Murray Metals Ltd"),
    )
    assert level == "exact"


def test_organisation_names_written_without_spaces_agree_compactly() -> None:
    level = level_of(
        "name",
        organization("a", name="Blue Sky Partners"),
        organization("b", name="BlueSky Partners"),
    )
    assert level == "compact_exact"


def test_organisation_websites_agree_by_host() -> None:
    level = level_of(
        "website",
        organization("a", website="https://www.acme.example/"),
        organization("b", website="ACME.EXAMPLE"),
    )
    assert level == "exact"


_CUSTOM = {
    "entity_type": "PERSON",
    "version": "test-custom",
    "attributes": {"surname": "name", "postcode": "number", "city": "text"},
    "comparisons": [
        {
            "name": "amount",
            "fields": ["postcode"],
            "levels": [
                {"label": "exact", "test": "exact"},
                {"label": "within_5", "test": "numeric_within", "at_most": 5},
                {"label": "within_10pc", "test": "numeric_relative_within", "at_most": 0.1},
                {"label": "else", "test": "else"},
            ],
        },
        {
            "name": "city",
            "fields": ["city"],
            "levels": [
                {"label": "lev_1", "test": "levenshtein", "at_most": 1},
                {"label": "jaro_0.9", "test": "jaro", "at_least": 0.9},
                {"label": "tokens_0.8", "test": "token_set", "at_least": 0.8},
                {"label": "soundex", "test": "phonetic", "algorithm": "soundex"},
                {"label": "else", "test": "else"},
            ],
        },
    ],
    "blocking": [{"name": "city", "keys": [{"field": "city"}]}],
    "training": {"em_blocking": [{"name": "city", "keys": [{"field": "city"}]}]},
}


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("100", "100.0", "exact"),
        ("100", "104", "within_5"),
        ("100", "108", "within_10pc"),
        ("100", "150", "else"),
        ("100", "n/a", "null"),
    ],
)
def test_numeric_levels(left: str, right: str, expected: str) -> None:
    config = parse_config(_CUSTOM)
    assert (
        levels_of(config, person("a", postcode=left), person("b", postcode=right))["amount"]
        == expected
    )


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("Leeds", "Leeds", "lev_1"),
        ("Leeds", "Leds", "lev_1"),
        ("Manchester", "Manchestre", "jaro_0.9"),
        ("Newcastle upon Tyne", "Tyne Newcastle", "tokens_0.8"),
        ("Rupert", "Robert", "soundex"),
        ("Leeds", "York", "else"),
    ],
)
def test_string_levels_are_tried_in_order(left: str, right: str, expected: str) -> None:
    config = parse_config(_CUSTOM)
    assert levels_of(config, person("a", city=left), person("b", city=right))["city"] == expected
