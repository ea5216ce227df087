"""Golden sets: labelled records to measure resolution quality against.

A golden set is a CSV file with a header row: ``record_id``, ``entity_type`` and
``cluster_id`` are required; attribute columns use the canonical attribute names of a
built-in entity type (``given_name``, ``surname``… or ``name``, ``registration_id``…), other
columns of those records are ignored. Records of any other type (``VEHICLE``…) keep every
other column, and the type's config picks the attributes it compares. Empty cells are
missing values. A bad file is refused as a whole with
``IntelGraphError(VALIDATION)`` naming the problem and the line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from intelgraph.er.engine.records import Record, canonical_attributes_of, parse_entity_type
from intelgraph.kernel.errors import VALIDATION, IntelGraphError

REQUIRED_COLUMNS = ("record_id", "entity_type", "cluster_id")


@dataclass(frozen=True)
class GoldenSet:
    """Labelled records: the records, and the true cluster of each record id."""

    records: tuple[Record, ...]
    truth: dict[str, str]

    @property
    def entity_types(self) -> list[str]:
        """The entity types of the set's records, sorted."""
        return sorted({r.entity_type for r in self.records})

    def of_type(self, entity_type: str) -> GoldenSet:
        """The part of the set with records of ``entity_type``."""
        records = tuple(r for r in self.records if r.entity_type == entity_type)
        return GoldenSet(records, {r.record_id: self.truth[r.record_id] for r in records})


def _refuse(source: str, problem: str) -> IntelGraphError:
    return IntelGraphError(VALIDATION, f"golden set {source}: {problem}")


def parse_golden_csv(text: str, *, source: str = "input") -> GoldenSet:
    """The golden set in CSV ``text``; raises VALIDATION for an empty file, a missing
    required column, a malformed entity type, an empty id or a duplicate record_id."""
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise _refuse(source, "the file is empty")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise _refuse(
            source,
            f"missing required column(s) {', '.join(missing)} "
            f"(the header has: {', '.join(header) or 'nothing'})",
        )
    other_columns = [c for c in header if c not in REQUIRED_COLUMNS]
    records: list[Record] = []
    truth: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            raise _refuse(source, f"line {line} has more cells than the header has columns")
        record_id = (row["record_id"] or "").strip()
        cluster_id = (row["cluster_id"] or "").strip()
        if not record_id:
            raise _refuse(source, f"line {line} has an empty record_id")
        if not cluster_id:
            raise _refuse(source, f"line {line} (record {record_id!r}) has an empty cluster_id")
        if record_id in first_line:
            raise _refuse(
                source,
                f"record_id {record_id!r} on line {line} duplicates line {first_line[record_id]}",
            )
        first_line[record_id] = line
        raw_type = (row["entity_type"] or "").strip()
        try:
            entity_type = parse_entity_type(raw_type)
        except IntelGraphError as exc:
            raise _refuse(source, f"line {line}: {exc.message}") from None
        canonical = canonical_attributes_of(entity_type)
        attributes = {
            name: (row[name] or "").strip() or None
            for name in (other_columns if canonical is None else canonical)
            if name in row
        }
        records.append(Record(record_id, entity_type, attributes))
        truth[record_id] = cluster_id
    if not records:
        raise _refuse(source, "the file has a header but no records")
    return GoldenSet(tuple(records), truth)


def load_golden_set(path: str | Path) -> GoldenSet:
    """The golden set in the CSV file at ``path``; raises VALIDATION if unreadable or bad."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _refuse(str(file), f"cannot be read ({exc})") from None
    return parse_golden_csv(text, source=str(file))
