"""Graph entities as ER records: their attributes mapped onto the names configs use.

Ingest accepts free-form attributes. For the built-in types, those already named
canonically (``given_name``, ``dob``, ``registration_id``…) are used as they are; common
alternative spellings (``firstName``, ``date_of_birth``, ``zip``, ``company_number``…) are
mapped onto them, and the entity's label stands in for ``full_name`` (PERSON) or ``name``
(ORGANIZATION) when the attributes give none. For any other type every attribute is kept
under its snake_case name (``plateNumber`` → ``plate_number``) and the label is available
as ``label``; the type's config picks what it compares. Values that are not scalars are
ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from intelgraph.er.engine.records import (
    ATTRIBUTE_NAME_PATTERN,
    CANONICAL_ATTRIBUTES,
    ENTITY_TYPE_PATTERN,
    EntityType,
    Record,
)

# The built-in types: every tenant resolves them. Other types are resolved for the tenants
# that stored a config for them (``EntityResolutionService.resolvable_types``).
RESOLVABLE_TYPES: tuple[str, ...] = tuple(t.value for t in EntityType)
LABEL_ATTRIBUTE = "label"

_ALIASES: Mapping[EntityType, Mapping[str, str]] = {
    EntityType.PERSON: {
        "first_name": "given_name",
        "firstname": "given_name",
        "forename": "given_name",
        "given": "given_name",
        "last_name": "surname",
        "lastname": "surname",
        "family_name": "surname",
        "name": "full_name",
        "fullname": "full_name",
        "date_of_birth": "dob",
        "birth_date": "dob",
        "birthdate": "dob",
        "address": "street",
        "street_address": "street",
        "address_line1": "street",
        "town": "city",
        "zip": "postcode",
        "zip_code": "postcode",
        "zipcode": "postcode",
        "postal_code": "postcode",
        "region": "state",
        "province": "state",
        "e_mail": "email",
        "email_address": "email",
        "mobile": "phone",
        "telephone": "phone",
        "phone_number": "phone",
        "ssn": "national_id",
        "national_insurance_number": "national_id",
        "tax_id": "national_id",
    },
    EntityType.ORGANIZATION: {
        "company_name": "name",
        "legal_name": "name",
        "organisation_name": "name",
        "organization_name": "name",
        "registration_number": "registration_id",
        "company_number": "registration_id",
        "reg_no": "registration_id",
        "address": "street",
        "street_address": "street",
        "town": "city",
        "zip": "postcode",
        "zip_code": "postcode",
        "postal_code": "postcode",
        "url": "website",
        "homepage": "website",
        "domain": "website",
        "telephone": "phone",
        "phone_number": "phone",
    },
}

_LABEL_ATTRIBUTE: Mapping[EntityType, str] = {
    EntityType.PERSON: "full_name",
    EntityType.ORGANIZATION: "name",
}

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


@lru_cache(maxsize=4096)
def _snake(name: str) -> str:
    return _CAMEL.sub(r"_\1", name.strip()).lower().replace("-", "_").replace(" ", "_")


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        text = str(value).strip()
        return text or None
    return None


def canonical_attributes(
    entity_type: EntityType, label: str | None, attributes: Mapping[str, Any]
) -> dict[str, str]:
    """The entity's attributes under canonical names (canonical spellings win over aliases)."""
    canonical = CANONICAL_ATTRIBUTES[entity_type]
    aliases = _ALIASES[entity_type]
    found: dict[str, str] = {}
    aliased: dict[str, str] = {}
    for raw_name, raw_value in attributes.items():
        value = _scalar(raw_value)
        if value is None:
            continue
        name = _snake(str(raw_name))
        if name in canonical:
            found[name] = value
        elif name in aliases:
            aliased.setdefault(aliases[name], value)
    for name, value in aliased.items():
        found.setdefault(name, value)
    label_attribute = _LABEL_ATTRIBUTE[entity_type]
    has_names = "given_name" in found and "surname" in found
    wants_label = entity_type is EntityType.ORGANIZATION or not has_names
    if label_attribute not in found and label and label.strip() and wants_label:
        found[label_attribute] = label.strip()
    return found


def named_attributes(label: str | None, attributes: Mapping[str, Any]) -> dict[str, str]:
    """A configured type's attributes under snake_case names, with the label as ``label``
    unless an attribute already has that name."""
    found: dict[str, str] = {}
    for raw_name, raw_value in attributes.items():
        value = _scalar(raw_value)
        name = _snake(str(raw_name))
        if value is not None and ATTRIBUTE_NAME_PATTERN.match(name):
            found.setdefault(name, value)
    if LABEL_ATTRIBUTE not in found and label and label.strip():
        found[LABEL_ATTRIBUTE] = label.strip()
    return found


def entity_record(
    entity_id: str, entity_type: str, label: str | None, attributes: Mapping[str, Any]
) -> Record:
    """The ER record of one graph entity (its id is the record id)."""
    if entity_type in CANONICAL_ATTRIBUTES:
        kind = EntityType(entity_type)
        return Record(entity_id, kind.value, canonical_attributes(kind, label, attributes))
    return Record(entity_id, entity_type, named_attributes(label, attributes))


def is_resolvable(entity_type: str) -> bool:
    """Whether entities of this graph type may be resolved: the built-in types always, any
    other type in the tenants that stored a config for it (the ER service decides)."""
    return bool(ENTITY_TYPE_PATTERN.match(entity_type))
