"""The graph's vocabulary: entity and relationship types and their records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class EntityType(StrEnum):
    PERSON = "PERSON"
    ORGANIZATION = "ORGANIZATION"
    LOCATION = "LOCATION"
    DEVICE = "DEVICE"
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    IP_ADDRESS = "IP_ADDRESS"
    DOMAIN = "DOMAIN"
    URL = "URL"
    FILE = "FILE"
    DOCUMENT = "DOCUMENT"
    ACCOUNT = "ACCOUNT"
    TRANSACTION = "TRANSACTION"
    EVENT = "EVENT"
    OTHER = "OTHER"


class RelationshipType(StrEnum):
    CONNECTED_TO = "CONNECTED_TO"
    OWNS = "OWNS"
    WORKS_FOR = "WORKS_FOR"
    LOCATED_AT = "LOCATED_AT"
    MENTIONS = "MENTIONS"
    COMMUNICATES_WITH = "COMMUNICATES_WITH"
    TRANSACTED_WITH = "TRANSACTED_WITH"
    ACCESSED = "ACCESSED"
    CREATED = "CREATED"
    MODIFIED = "MODIFIED"
    RELATED_TO = "RELATED_TO"
    MEMBER_OF = "MEMBER_OF"
    MANAGES = "MANAGES"
    REPORTS_TO = "REPORTS_TO"
    SUBSIDIARY_OF = "SUBSIDIARY_OF"
    PARTNER_OF = "PARTNER_OF"
    COMPETITOR_OF = "COMPETITOR_OF"
    SIMILAR_TO = "SIMILAR_TO"


@dataclass(frozen=True, slots=True)
class Entity:
    tenant_id: str
    id: str
    external_id: str
    type: str
    label: str
    attributes: dict[str, Any]
    confidence: float
    source: str | None
    purposes: list[str]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Relationship:
    tenant_id: str
    id: str
    type: str
    from_id: str
    to_id: str
    confidence: float
    attributes: dict[str, Any]
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class EntityPage:
    items: list[Entity]
    next_cursor: str | None
    total: int


@dataclass(frozen=True, slots=True)
class Subgraph:
    entities: list[Entity]
    relationships: list[Relationship]


@dataclass(frozen=True, slots=True)
class GraphPath:
    entities: list[Entity]
    relationships: list[Relationship]

    @property
    def length(self) -> int:
        return len(self.relationships)


@dataclass(frozen=True, slots=True)
class AnalyticsScore:
    entity: Entity
    score: float
    computed_at: datetime
