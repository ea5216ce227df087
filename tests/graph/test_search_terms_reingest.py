"""Re-ingesting an entity replaces its search terms exactly: the old words stop matching,
words it still has (or that other entities have) keep matching, and no stale term row
stays behind. Old terms are found by recomputing them from what the entity stored (there
is no index on entity_id to find them by), so these tests cover every way the stored text
can have been written: a first insert, an update, an update back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from conftest import Harness, person
from intelgraph.graph.search_terms import entity_terms as terms_of
from intelgraph.store.tables import entities, entity_terms


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    return module_harness


def search_labels(harness: Harness, key: str, q: str) -> list[str]:
    response = harness.graphql(
        key, "query($q: String!) { searchEntities(q: $q) { items { label } } }", {"q": q}
    )
    assert response.status_code == 200, response.text
    return sorted(item["label"] for item in response.json()["data"]["searchEntities"]["items"])


def stored_term_rows(harness: Harness, tenant_id: str) -> set[tuple[str, str]]:
    with harness.services.engine.connect() as conn:
        rows = conn.execute(
            select(entity_terms.c.term, entity_terms.c.entity_id).where(
                entity_terms.c.tenant_id == tenant_id
            )
        )
        return {(row.term, row.entity_id) for row in rows}


def expected_term_rows(harness: Harness, tenant_id: str) -> set[tuple[str, str]]:
    """The terms of every entity as it is stored now."""
    with harness.services.engine.connect() as conn:
        rows = conn.execute(
            select(entities.c.entity_id, entities.c.label, entities.c.attributes).where(
                entities.c.tenant_id == tenant_id
            )
        )
        return {
            (term, row.entity_id) for row in rows for term in terms_of(row.label, row.attributes)
        }


def ingest_ok(harness: Harness, key: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    response = harness.ingest(key, lines)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_renamed_entity_is_found_by_its_new_words_only(harness: Harness) -> None:
    tenant = harness.new_tenant(plan="enterprise")
    ingest_ok(
        harness,
        tenant.admin_key,
        [
            person("p1", "Ada Lovelace", city="London", email="ada@example.org"),
            person("p2", "Ada Byron", city="London"),
        ],
    )

    ingest_ok(harness, tenant.admin_key, [person("p1", "Augusta King", city="London")])

    assert search_labels(harness, tenant.admin_key, "lovelace") == []
    assert search_labels(harness, tenant.admin_key, "example") == []  # the dropped email
    assert search_labels(harness, tenant.admin_key, "augusta") == ["Augusta King"]
    # Words the entity kept, and words another entity shares, still match.
    assert search_labels(harness, tenant.admin_key, "london") == ["Ada Byron", "Augusta King"]
    assert search_labels(harness, tenant.admin_key, "ada") == ["Ada Byron"]
    assert stored_term_rows(harness, tenant.id) == expected_term_rows(harness, tenant.id)


def test_reingesting_the_same_entity_keeps_its_terms(harness: Harness) -> None:
    tenant = harness.new_tenant(plan="enterprise")
    line = person("p1", "Grace Hopper", city="Arlington", surname="Hopper")
    ingest_ok(harness, tenant.admin_key, [line])
    before = stored_term_rows(harness, tenant.id)

    body = ingest_ok(harness, tenant.admin_key, [line])

    assert body["updated"]["entities"] == 1
    assert stored_term_rows(harness, tenant.id) == before
    assert search_labels(harness, tenant.admin_key, "arling") == ["Grace Hopper"]


def test_terms_follow_a_chain_of_updates_without_leaving_stale_rows(harness: Harness) -> None:
    tenant = harness.new_tenant(plan="enterprise")
    versions = [
        person("p1", "Zoë Ünal", city="Zürich", given_name="Zoë", note="not searchable"),
        person("p1", "Zoë Ünal", city="Bern"),  # one attribute changed, one removed
        person("p1", "Zoe Unal-Smith", city="Bern", national_id="X-99"),
        person("p1", "Zoë Ünal", city="Zürich", given_name="Zoë"),  # back to the first
        person("p1", "Zoë Ünal", city="Zürich", given_name="Zoë", dob="1990"),  # no term change
    ]
    for version in versions:
        ingest_ok(harness, tenant.admin_key, [person("other", "Zoë Bern"), version])
        assert stored_term_rows(harness, tenant.id) == expected_term_rows(harness, tenant.id)

    assert search_labels(harness, tenant.admin_key, "smith") == []
    assert search_labels(harness, tenant.admin_key, "x") == []
    assert search_labels(harness, tenant.admin_key, "bern") == ["Zoë Bern"]
    assert search_labels(harness, tenant.admin_key, "zurich") == ["Zoë Ünal"]


def test_the_last_line_for_an_external_id_in_a_batch_sets_its_terms(harness: Harness) -> None:
    tenant = harness.new_tenant(plan="enterprise")
    ingest_ok(harness, tenant.admin_key, [person("p1", "Alan Turing")])

    ingest_ok(
        harness,
        tenant.admin_key,
        [person("p1", "Alonzo Church"), person("p1", "Kurt Gödel"), person("p2", "Alan Kay")],
    )

    assert search_labels(harness, tenant.admin_key, "alan") == ["Alan Kay"]
    assert search_labels(harness, tenant.admin_key, "church") == []
    assert search_labels(harness, tenant.admin_key, "godel") == ["Kurt Gödel"]
    assert stored_term_rows(harness, tenant.id) == expected_term_rows(harness, tenant.id)


def test_a_large_renaming_batch_replaces_every_entitys_terms(harness: Harness) -> None:
    tenant = harness.new_tenant(plan="enterprise")
    ingest_ok(
        harness,
        tenant.admin_key,
        [person(f"p{n}", f"Before {n}", city="Oslo") for n in range(1_200)],
    )

    ingest_ok(
        harness,
        tenant.admin_key,
        [person(f"p{n}", f"After {n}", city="Oslo") for n in range(1_200)],
    )

    assert stored_term_rows(harness, tenant.id) == expected_term_rows(harness, tenant.id)
    found = harness.graphql(tenant.admin_key, '{ searchEntities(q: "before") { total } }')
    assert found.json()["data"]["searchEntities"]["total"] == 0
