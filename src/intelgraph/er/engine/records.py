"""What entity resolution works on: a record of one entity type with named attributes.

An entity type is a name (``PERSON``, ``VEHICLE``, ``ACCOUNT``…). PERSON and ORGANIZATION
are *built in*: they have canonical attribute names and packaged default configs. Any other
type is resolved under a config a tenant admin stores for it (``er/type_configs.py``); its
attribute names are whatever that config declares.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from intelgraph.kernel.errors import VALIDATION, IntelGraphError

# Stored in String(24) columns (er_state, er_models, …), hence the length bound.
ENTITY_TYPE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,23}$")
ATTRIBUTE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class EntityType(StrEnum):
    """The built-in entity types: canonical attributes and a packaged default config."""

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

CANONICAL_ATTRIBUTES: Mapping[str, tuple[str, ...]] = {
    EntityType.PERSON: PERSON_ATTRIBUTES,
    EntityType.ORGANIZATION: ORGANIZATION_ATTRIBUTES,
}


@dataclass(frozen=True, slots=True)
class Record:
    """One source record to resolve; attributes use the names its type's config declares
    (the canonical names for a built-in type).

    Attributes that are absent, ``None`` or blank count as missing. Attributes the config
    does not declare are ignored by the engine.
    """

    record_id: str
    entity_type: str
    attributes: Mapping[str, str | None]


def parse_entity_type(value: str) -> str:
    """The entity type named by ``value`` (case-insensitive), upper-cased.

    Any well-formed name is a type (whether it can be resolved depends on there being a
    config for it); raises VALIDATION for a malformed name.
    """
    name = value.strip().upper()
    if not ENTITY_TYPE_PATTERN.match(name):
        raise IntelGraphError(
            VALIDATION,
            f"entity type {value!r} is not a valid type name: use letters, digits and _ "
            "(starting with a letter, at most 24), e.g. PERSON or VEHICLE",
        )
    return name


def parse_optional_entity_type(value: str | None) -> str | None:
    """``parse_entity_type`` of ``value``, or None when no type is named."""
    return None if value is None else parse_entity_type(value)


def is_built_in(entity_type: str) -> bool:
    """Whether ``entity_type`` has canonical attributes and a packaged default config."""
    return entity_type in CANONICAL_ATTRIBUTES


def canonical_attributes_of(entity_type: str) -> tuple[str, ...] | None:
    """The canonical attribute names of a built-in type; None for any other type."""
    return CANONICAL_ATTRIBUTES.get(entity_type)
