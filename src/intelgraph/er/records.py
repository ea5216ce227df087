"""What entity resolution works on: a record of one entity type with canonical attributes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from intelgraph.kernel.errors import VALIDATION, IntelGraphError


class EntityType(StrEnum):
    """The entity types the engine resolves, each with its canonical attributes."""

    PERSON = "PERSON"
    ORGANIZATION = "ORGANIZATION"


PERSON_ATTRIBUTES: tuple[str, ...] = (
    "given_name",
    "surname",
    "full_name",
    "dob",
    "street",
    "city",
    "postcode",
    "state",
    "country",
    "email",
    "phone",
    "national_id",
)

ORGANIZATION_ATTRIBUTES: tuple[str, ...] = (
    "name",
    "registration_id",
    "lei",
    "street",
    "city",
    "postcode",
    "country",
    "website",
    "phone",
)

CANONICAL_ATTRIBUTES: Mapping[EntityType, tuple[str, ...]] = {
    EntityType.PERSON: PERSON_ATTRIBUTES,
    EntityType.ORGANIZATION: ORGANIZATION_ATTRIBUTES,
}


@dataclass(frozen=True, slots=True)
class Record:
    """One source record to resolve; attributes use the canonical names of its entity type.

    Attributes that are absent, ``None`` or blank count as missing. Attributes that are not
    canonical for the entity type are ignored by the engine.
    """

    record_id: str
    entity_type: str
    attributes: Mapping[str, str | None]


def parse_entity_type(value: str) -> EntityType:
    """The entity type named by ``value`` (case-insensitive); raises VALIDATION if unknown."""
    try:
        return EntityType(value.strip().upper())
    except ValueError:
        known = ", ".join(t.value for t in EntityType)
        raise IntelGraphError(
            VALIDATION, f"unknown entity type {value!r}: expected one of {known}"
        ) from None
