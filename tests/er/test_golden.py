"""Golden sets load from CSV; bad files are refused as a whole with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from intelgraph.er.engine.golden import load_golden_set, parse_golden_csv
from intelgraph.kernel.errors import IntelGraphError

GOOD = (
    "record_id,entity_type,cluster_id,given_name,surname,dob,notes\n"
    "r1,PERSON,c1,Ada,Lovelace,1815-12-10,first\n"
    "r2,person,c1,Ada,Lovelace,,\n"
    "o1,ORGANIZATION,k1,,,,\n"
)


def _refusal(text: str) -> str:
    with pytest.raises(IntelGraphError) as caught:
        parse_golden_csv(text, source="golden.csv")
    assert caught.value.code == "VALIDATION"
    return caught.value.message


def test_a_good_file_gives_records_and_truth(tmp_path: Path) -> None:
    path = tmp_path / "golden.csv"
    path.write_text(GOOD, encoding="utf-8")
    golden = load_golden_set(path)
    assert golden.truth == {"r1": "c1", "r2": "c1", "o1": "k1"}
    first, second, org = golden.records
    assert first.entity_type == "PERSON" and second.entity_type == "PERSON"
    assert first.attributes == {"given_name": "Ada", "surname": "Lovelace", "dob": "1815-12-10"}
    assert second.attributes["dob"] is None
    assert "notes" not in first.attributes
    assert org.entity_type == "ORGANIZATION" and org.attributes == {}


def test_a_set_can_be_narrowed_to_one_entity_type() -> None:
    from intelgraph.er.engine.records import EntityType

    people = parse_golden_csv(GOOD).of_type(EntityType.PERSON)
    assert [r.record_id for r in people.records] == ["r1", "r2"]
    assert set(people.truth) == {"r1", "r2"}


def test_a_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "golden.csv"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert len(load_golden_set(path).records) == 3


def test_an_empty_file_is_refused() -> None:
    assert _refusal("") == "golden set golden.csv: the file is empty"


def test_a_header_without_records_is_refused() -> None:
    assert "has a header but no records" in _refusal("record_id,entity_type,cluster_id\n")


def test_missing_required_columns_are_named() -> None:
    message = _refusal("record_id,given_name\nr1,Ada\n")
    assert "missing required column(s) entity_type, cluster_id" in message
    assert "the header has: record_id, given_name" in message


def test_a_duplicate_record_id_names_both_lines() -> None:
    message = _refusal(
        "record_id,entity_type,cluster_id\nr1,PERSON,c1\nr2,PERSON,c1\nr1,PERSON,c2\n"
    )
    assert "record_id 'r1' on line 4 duplicates line 2" in message


def test_a_malformed_entity_type_names_the_line() -> None:
    message = _refusal("record_id,entity_type,cluster_id\nr1,PERSON,c1\nr2,space ship,c2\n")
    assert "line 3: entity type 'space ship' is not a valid type name" in message


def test_records_of_a_type_without_canonical_names_keep_every_other_column() -> None:
    golden = parse_golden_csv(
        "record_id,entity_type,cluster_id,vin,plate,given_name\n"
        "v1,vehicle,c1,1HGCM82633A004352,AB12CDE,\n"
        "p1,PERSON,c2,,,Ada\n"
    )
    vehicle, person = golden.records
    assert vehicle.entity_type == "VEHICLE"
    assert vehicle.attributes == {
        "vin": "1HGCM82633A004352",
        "plate": "AB12CDE",
        "given_name": None,
    }
    assert person.attributes == {"given_name": "Ada"}
    assert golden.entity_types == ["PERSON", "VEHICLE"]


def test_an_empty_cluster_id_is_refused() -> None:
    assert "line 2 (record 'r1') has an empty cluster_id" in _refusal(
        "record_id,entity_type,cluster_id\nr1,PERSON,\n"
    )


def test_a_row_with_too_many_cells_is_refused() -> None:
    assert "line 2 has more cells" in _refusal("record_id,entity_type,cluster_id\nr1,PERSON,c1,x\n")


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IntelGraphError, match="cannot be read"):
        load_golden_set(tmp_path / "absent.csv")
