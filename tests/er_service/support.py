"""What the ER service tests share: generated people with known truth, driven through the
real app (ingest over HTTP, the online worker drained in the test's thread)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from typing import Any

from conftest import Harness, TenantHandle
from intelgraph.demo.records import SyntheticRecord, generate_people
from intelgraph.er.engine.records import PERSON_ATTRIBUTES
from intelgraph.kernel.tenancy import Principal

V1_1 = {"X-IG-Api-Version": "1.1"}


@cache
def people(n_clusters: int = 80, seed: int = 7) -> tuple[SyntheticRecord, ...]:
    """Synthetic PERSON records (originals and corrupted duplicates), truth in cluster_id."""
    return tuple(generate_people(n_clusters, seed))


def entity_line(record: SyntheticRecord, external_id: str | None = None) -> dict[str, Any]:
    attributes = record.attributes
    label = attributes.get("full_name") or " ".join(
        v for v in (attributes.get("given_name"), attributes.get("surname")) if v
    )
    return {
        "kind": "entity",
        "external_id": external_id or record.record_id,
        "type": "PERSON",
        "label": label or record.record_id,
        "attributes": attributes,
        "source": record.source,
    }


def golden_csv(records: tuple[SyntheticRecord, ...] | list[SyntheticRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["record_id", "entity_type", "cluster_id", *PERSON_ATTRIBUTES])
    for record in records:
        writer.writerow(
            [
                record.record_id,
                "PERSON",
                record.cluster_id,
                *(record.attributes.get(name, "") for name in PERSON_ATTRIBUTES),
            ]
        )
    return out.getvalue()


def headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class ResolvedTenant:
    """A tenant holding generated people, trained and resolved."""

    tenant: TenantHandle
    records: tuple[SyntheticRecord, ...]
    ids: dict[str, str]  # record id (external id) -> entity id

    @property
    def key(self) -> str:
        return self.tenant.admin_key

    def entity(self, record_id: str) -> str:
        return self.ids[record_id]

    def duplicate_pair(self) -> tuple[str, str]:
        """Two entities of the same true person."""
        by_cluster: dict[str, list[str]] = {}
        for record in self.records:
            by_cluster.setdefault(record.cluster_id, []).append(record.record_id)
        first, second = next(ids for ids in by_cluster.values() if len(ids) > 1)[:2]
        return self.ids[first], self.ids[second]

    def principal(self, name: str = "test") -> Principal:
        return Principal(self.tenant.id, f"key-{name}", name, ("admin",))


def ingest(
    harness: Harness, key: str, records: list[SyntheticRecord] | tuple[SyntheticRecord, ...]
) -> dict[str, str]:
    response = harness.ingest(key, [entity_line(r) for r in records])
    assert response.status_code == 200, response.text
    ids: dict[str, str] = response.json()["ids"]
    return ids


def resolved_tenant(
    harness: Harness, records: tuple[SyntheticRecord, ...] | None = None
) -> ResolvedTenant:
    """A new tenant with ``records`` (default: 80 generated people) ingested, trained, resolved."""
    records = records if records is not None else people()
    tenant = harness.new_tenant()
    ids = ingest(harness, tenant.admin_key, records)
    trained = harness.client.post(
        "/v1/er/models/train", json={"type": "PERSON"}, headers=headers(tenant.admin_key)
    )
    assert trained.status_code == 201, trained.text
    harness.services.er.resolution.drain()
    return ResolvedTenant(tenant, records, ids)


def canonical_ids(harness: Harness, key: str, entity_ids: list[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for start in range(0, len(entity_ids), 100):
        chunk = entity_ids[start : start + 100]
        response = harness.client.post(
            "/graphql",
            json={
                "query": "query($ids: [ID!]!) { entities(ids: $ids) { id canonicalId } }",
                "variables": {"ids": chunk},
            },
            headers=headers(key) | V1_1,
        )
        body = response.json()
        assert "errors" not in body, body
        found.update({e["id"]: e["canonicalId"] for e in body["data"]["entities"]})
    return found
