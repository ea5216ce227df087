"""POST /v1/ingest as a client sees it: counts, ids, upserts, refusals that store nothing."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from conftest import NDJSON, Harness, TenantHandle, edge, person
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.kernel.clock import ManualClock
from intelgraph.settings import Settings

ENTITY_QUERY = "query($id: ID!) { entity(id: $id) { label type attributes externalId } }"


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    """One app per backend for this module; every test makes its own tenants."""
    return module_harness


def ndjson(*lines: dict[str, Any]) -> bytes:
    return b"\n".join(orjson.dumps(line) for line in lines)


def error_of(response: Any) -> dict[str, Any]:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    error: dict[str, Any] = errors[0]
    assert set(error) >= {"message", "extensions"}
    return error


def entity_by_id(harness: Harness, key: str, entity_id: str) -> dict[str, Any] | None:
    response = harness.graphql(key, ENTITY_QUERY, {"id": entity_id})
    assert response.status_code == 200, response.text
    found: dict[str, Any] | None = response.json()["data"]["entity"]
    return found


def search_labels(harness: Harness, key: str, q: str) -> list[str]:
    response = harness.graphql(
        key, "query($q: String!) { searchEntities(q: $q) { items { label } } }", {"q": q}
    )
    assert response.status_code == 200, response.text
    return sorted(item["label"] for item in response.json()["data"]["searchEntities"]["items"])


# --- happy path ------------------------------------------------------------------------------


def test_ingest_stores_entities_and_relationships_and_returns_their_ids(harness: Harness) -> None:
    tenant = harness.new_tenant()
    response = harness.ingest(
        tenant.admin_key,
        [
            person("p-1", "Ada Lovelace", city="London"),
            person("p-2", "Charles Babbage"),
            edge("CONNECTED_TO", "p-1", "p-2"),
        ],
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == {"entities": 2, "relationships": 1}
    assert body["created"] == {"entities": 2, "relationships": 1}
    assert body["updated"] == {"entities": 0, "relationships": 0}
    assert body["rejected"] == 0
    assert body["lineErrors"] == []
    assert set(body["ids"]) == {"p-1", "p-2"}
    assert all(entity_id.startswith("ent_") for entity_id in body["ids"].values())
    assert harness.services.graph.counts(tenant.id) == {"entities": 2, "relationships": 1}
    stored = entity_by_id(harness, tenant.admin_key, body["ids"]["p-1"])
    assert stored == {
        "label": "Ada Lovelace",
        "type": "PERSON",
        "attributes": {"city": "London"},
        "externalId": "p-1",
    }


def test_an_analyst_key_can_ingest(harness: Harness) -> None:
    tenant = harness.new_tenant()
    analyst = harness.new_key(tenant, "analyst")
    response = harness.ingest(analyst, [person("p-1", "Ada")])
    assert response.status_code == 200, response.text
    assert harness.services.graph.counts(tenant.id)["entities"] == 1


def test_reingesting_an_external_id_updates_label_and_attributes_in_place(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    first = harness.ingest(tenant.admin_key, [person("p-1", "Alice Brown", city="Oslo")]).json()
    second = harness.ingest(tenant.admin_key, [person("p-1", "Alice Green", city="Bergen")])

    assert second.status_code == 200, second.text
    body = second.json()
    assert body["created"] == {"entities": 0, "relationships": 0}
    assert body["updated"] == {"entities": 1, "relationships": 0}
    assert body["ids"] == first["ids"]
    assert harness.services.graph.counts(tenant.id)["entities"] == 1
    stored = entity_by_id(harness, tenant.admin_key, first["ids"]["p-1"])
    assert stored is not None
    assert stored["label"] == "Alice Green"
    assert stored["attributes"] == {"city": "Bergen"}
    # Search follows the new label and attributes, and forgets the old ones.
    assert search_labels(harness, tenant.admin_key, "green") == ["Alice Green"]
    assert search_labels(harness, tenant.admin_key, "bergen") == ["Alice Green"]
    assert search_labels(harness, tenant.admin_key, "brown") == []
    assert search_labels(harness, tenant.admin_key, "oslo") == []


def test_reobserving_a_relationship_updates_it_instead_of_adding_another(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    lines = [person("a", "A"), person("b", "B"), edge("OWNS", "a", "b")]
    harness.ingest(tenant.admin_key, lines)
    again = harness.ingest(tenant.admin_key, [edge("OWNS", "a", "b")])

    assert again.status_code == 200, again.text
    assert again.json()["updated"]["relationships"] == 1
    assert again.json()["created"]["relationships"] == 0
    assert harness.services.graph.counts(tenant.id) == {"entities": 2, "relationships": 1}


def test_a_batch_larger_than_one_sql_chunk_is_stored_and_upserted_whole(harness: Harness) -> None:
    tenant = harness.new_tenant(plan="enterprise")  # two 2,399-record batches within a second
    people = [person(f"p-{n:04d}", f"Person {n}") for n in range(1_200)]
    chain = [edge("CONNECTED_TO", f"p-{n:04d}", f"p-{n + 1:04d}") for n in range(1_199)]

    first = harness.ingest(tenant.admin_key, people + chain)
    renamed = [person(f"p-{n:04d}", f"Renamed {n}") for n in range(1_200)]
    second = harness.ingest(tenant.admin_key, renamed + chain)

    assert first.status_code == 200, first.text
    assert first.json()["created"] == {"entities": 1_200, "relationships": 1_199}
    assert second.status_code == 200, second.text
    assert second.json()["created"] == {"entities": 0, "relationships": 0}
    assert second.json()["updated"] == {"entities": 1_200, "relationships": 1_199}
    assert second.json()["ids"] == first.json()["ids"]
    assert harness.services.graph.counts(tenant.id) == {"entities": 1_200, "relationships": 1_199}
    found = harness.graphql(tenant.admin_key, '{ searchEntities(q: "renamed") { total } }')
    assert found.json()["data"]["searchEntities"]["total"] == 1_200


def test_changing_a_stored_entitys_type_is_refused_naming_the_line_and_field(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    harness.ingest(tenant.admin_key, [person("p-1", "Ada")])
    before = harness.services.graph.counts(tenant.id)
    retyped = {**person("p-1", "Ada Ltd"), "type": "ORGANIZATION"}

    response = harness.ingest(tenant.admin_key, [person("p-2", "Bob"), retyped])

    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["extensions"]["code"] == "INGEST_INVALID"
    assert [(e["line"], e["field"]) for e in error["extensions"]["lineErrors"]] == [(2, "type")]
    assert harness.services.graph.counts(tenant.id) == before


def test_one_batch_giving_an_external_id_two_types_is_refused_at_the_second_line(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    retyped = {**person("p-1", "Ada Ltd"), "type": "ORGANIZATION"}
    response = harness.ingest(tenant.admin_key, [person("p-1", "Ada"), retyped])

    assert response.status_code == 400, response.text
    line_errors = error_of(response)["extensions"]["lineErrors"]
    assert [(e["line"], e["field"]) for e in line_errors] == [(2, "type")]
    assert harness.services.graph.counts(tenant.id)["entities"] == 0


# --- bad input: the documented status and code, and nothing stored ---------------------------

GOOD = ndjson(person("good-1", "Good Person"))

BAD_LINES = [
    pytest.param(b'{"kind": "entity", "external_id": ', 2, "", id="malformed-json"),
    pytest.param(b"[1, 2, 3]", 2, "", id="not-an-object"),
    pytest.param(ndjson({**person("x", "X"), "colour": "red"}), 2, "colour", id="unknown-field"),
    pytest.param(
        ndjson({**person("x", "X"), "confidence": "high"}), 2, "confidence", id="conf-str"
    ),
    pytest.param(ndjson({**person("x", "X"), "confidence": 2.0}), 2, "confidence", id="conf-2.0"),
    pytest.param(ndjson({**person("x", "X"), "type": "ALIEN"}), 2, "type", id="type-alien"),
    pytest.param(ndjson({**person("x", "X"), "label": ""}), 2, "label", id="empty-label"),
    pytest.param(ndjson({"external_id": "x", "type": "PERSON"}), 2, "kind", id="no-kind"),
    pytest.param(ndjson(edge("OWNS", "good-1", "nobody")), 2, "to", id="unknown-target"),
    pytest.param(ndjson(edge("OWNS", "nobody", "good-1")), 2, "from", id="unknown-source"),
    pytest.param(ndjson(edge("LIKES", "good-1", "good-1")), 2, "type", id="rel-type-unknown"),
]


@pytest.mark.parametrize(("bad_line", "line", "field"), BAD_LINES)
def test_a_bad_line_refuses_the_whole_batch_and_names_the_line(
    harness: Harness, bad_line: bytes, line: int, field: str
) -> None:
    tenant = harness.new_tenant()
    harness.ingest(tenant.admin_key, [person("existing", "Already Here")])
    before = harness.services.graph.counts(tenant.id)
    links_before = harness.services.graph.verify_provenance(tenant.id).links

    response = harness.ingest(tenant.admin_key, GOOD + b"\n" + bad_line)

    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["extensions"]["code"] == "INGEST_INVALID"
    assert error["extensions"]["retryable"] is False
    assert "nothing was stored" in error["message"]
    line_errors = error["extensions"]["lineErrors"]
    assert {(e["line"], e["field"]) for e in line_errors} == {(line, field)}
    assert all(e["reason"] for e in line_errors)
    assert harness.services.graph.counts(tenant.id) == before
    assert harness.services.graph.verify_provenance(tenant.id).links == links_before


def test_line_numbers_count_blank_lines(harness: Harness) -> None:
    tenant = harness.new_tenant()
    body = GOOD + b"\n\n\n" + ndjson({**person("x", "X"), "type": "ALIEN"})
    response = harness.ingest(tenant.admin_key, body)
    assert response.status_code == 400
    assert [e["line"] for e in error_of(response)["extensions"]["lineErrors"]] == [4]


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", None], ids=["json", "text", "none"]
)
def test_a_body_that_is_not_ndjson_is_refused_with_415(
    harness: Harness, content_type: str | None
) -> None:
    tenant = harness.new_tenant()
    headers = tenant.headers | ({"content-type": content_type} if content_type else {})
    response = harness.client.post("/v1/ingest", content=GOOD, headers=headers)

    assert response.status_code == 415, response.text
    assert error_of(response)["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert harness.services.graph.counts(tenant.id)["entities"] == 0


@pytest.mark.parametrize("media_type", ["application/ndjson", "application/jsonl"])
def test_the_other_ndjson_media_types_are_accepted(harness: Harness, media_type: str) -> None:
    tenant = harness.new_tenant()
    headers = tenant.headers | {"content-type": f"{media_type}; charset=utf-8"}
    response = harness.client.post("/v1/ingest", content=GOOD, headers=headers)
    assert response.status_code == 200, response.text
    assert harness.services.graph.counts(tenant.id)["entities"] == 1


@pytest.fixture
def small_body_app(settings: Settings) -> Iterator[tuple[TestClient, Any, TenantHandle]]:
    """An app whose ingest limit is 300 bytes, with one tenant."""
    services = start_services(settings.model_copy(update={"max_ingest_bytes": 300}))
    operator = {"Authorization": f"Bearer {settings.operator_key}"}
    slug = f"small-{secrets.token_hex(4)}"
    with TestClient(create_app(services=services)) as client:
        created = client.post(
            "/v1/admin/tenants", json={"name": "Small", "slug": slug}, headers=operator
        )
        assert created.status_code == 201, created.text
        body = created.json()
        yield client, services, TenantHandle(body["tenant"]["id"], slug, body["apiKey"])


def test_a_body_over_the_size_limit_is_refused_with_413_and_nothing_stored(
    small_body_app: tuple[TestClient, Any, TenantHandle],
) -> None:
    client, services, tenant = small_body_app
    lines = [person(f"p-{n}", f"Person number {n}") for n in range(10)]
    body = ndjson(*lines)
    assert len(body) > 300

    response = client.post("/v1/ingest", content=body, headers=tenant.headers | NDJSON)

    assert response.status_code == 413, response.text
    error = error_of(response)
    assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert error["extensions"]["limitBytes"] == 300
    assert services.graph.counts(tenant.id)["entities"] == 0
    small = client.post("/v1/ingest", content=ndjson(lines[0]), headers=tenant.headers | NDJSON)
    assert small.status_code == 200, small.text


def test_a_streamed_body_without_content_length_is_also_cut_off_at_the_limit(
    small_body_app: tuple[TestClient, Any, TenantHandle],
) -> None:
    client, services, tenant = small_body_app

    def chunks() -> Iterator[bytes]:
        for n in range(10):
            yield ndjson(person(f"p-{n}", f"Person number {n}")) + b"\n"

    response = client.post("/v1/ingest", content=chunks(), headers=tenant.headers | NDJSON)

    assert response.status_code == 413, response.text
    assert error_of(response)["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert services.graph.counts(tenant.id)["entities"] == 0


# --- partial acceptance -------------------------------------------------------------------------


def test_partial_true_stores_the_valid_lines_and_reports_the_others(harness: Harness) -> None:
    tenant = harness.new_tenant()
    response = harness.ingest(
        tenant.admin_key,
        [
            person("p-1", "Ada"),
            {**person("p-bad", "Bad"), "confidence": 2.0},
            person("p-2", "Bob"),
            edge("OWNS", "p-1", "nobody"),
            edge("OWNS", "p-1", "p-2"),
        ],
        partial="true",
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == {"entities": 2, "relationships": 1}
    assert body["rejected"] == 2
    assert [(e["line"], e["field"]) for e in body["lineErrors"]] == [(2, "confidence"), (4, "to")]
    assert set(body["ids"]) == {"p-1", "p-2"}
    assert harness.services.graph.counts(tenant.id) == {"entities": 2, "relationships": 1}


def test_partial_must_be_true_or_false(harness: Harness) -> None:
    tenant = harness.new_tenant()
    response = harness.ingest(tenant.admin_key, [person("p-1", "Ada")], partial="maybe")

    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["extensions"]["code"] == "VALIDATION"
    assert "partial" in error["message"]
    assert harness.services.graph.counts(tenant.id)["entities"] == 0


# --- idempotency --------------------------------------------------------------------------------


def post_with_key(harness: Harness, tenant: TenantHandle, body: bytes, key: str) -> Any:
    headers = tenant.headers | NDJSON | {"Idempotency-Key": key}
    return harness.client.post("/v1/ingest", content=body, headers=headers)


def test_an_idempotency_key_replays_the_first_answer_without_storing_twice(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    body = ndjson(person("p-1", "Ada"), person("p-2", "Bob"), edge("OWNS", "p-1", "p-2"))

    first = post_with_key(harness, tenant, body, "batch-0001")
    second = post_with_key(harness, tenant, body, "batch-0001")

    assert first.status_code == second.status_code == 200
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert second.json()["created"] == {"entities": 2, "relationships": 1}
    assert harness.services.graph.counts(tenant.id) == {"entities": 2, "relationships": 1}
    assert harness.services.graph.verify_provenance(tenant.id).links == 1


def test_reusing_an_idempotency_key_with_another_body_is_refused_with_422(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    post_with_key(harness, tenant, ndjson(person("p-1", "Ada")), "batch-0001")

    response = post_with_key(harness, tenant, ndjson(person("p-9", "Zed")), "batch-0001")

    assert response.status_code == 422, response.text
    assert error_of(response)["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert harness.services.graph.counts(tenant.id)["entities"] == 1
    assert harness.services.graph.verify_provenance(tenant.id).links == 1


def test_idempotency_keys_belong_to_one_tenant(harness: Harness) -> None:
    first, second = harness.new_tenant(), harness.new_tenant()
    body = ndjson(person("p-1", "Ada"))
    post_with_key(harness, first, body, "shared-key")

    response = post_with_key(harness, second, body, "shared-key")

    assert response.status_code == 200, response.text
    assert "idempotent-replayed" not in response.headers
    assert (
        response.json()["ids"]["p-1"]
        != post_with_key(harness, first, body, "shared-key").json()["ids"]["p-1"]
    )
    assert harness.services.graph.counts(second.id)["entities"] == 1


def test_a_refused_batch_does_not_burn_its_idempotency_key(harness: Harness) -> None:
    tenant = harness.new_tenant()
    bad = ndjson({**person("p-1", "Ada"), "type": "ALIEN"})
    assert post_with_key(harness, tenant, bad, "retry-me").status_code == 400

    fixed = post_with_key(harness, tenant, ndjson(person("p-1", "Ada")), "retry-me")

    assert fixed.status_code == 200, fixed.text
    assert "idempotent-replayed" not in fixed.headers
    assert harness.services.graph.counts(tenant.id)["entities"] == 1


def test_an_idempotency_key_is_forgotten_after_its_ttl(settings: Settings) -> None:
    clock = ManualClock()
    services = start_services(
        settings.model_copy(update={"idempotency_ttl_seconds": 3600}), clock=clock
    )
    with TestClient(create_app(services=services)) as client:
        app = Harness(client, services, {"Authorization": f"Bearer {settings.operator_key}"})
        tenant = app.new_tenant()
        post_with_key(app, tenant, ndjson(person("p-1", "Ada")), "hourly")

        clock.advance(3599)
        within = post_with_key(app, tenant, ndjson(person("p-2", "Bob")), "hourly")
        clock.advance(2)
        after = post_with_key(app, tenant, ndjson(person("p-2", "Bob")), "hourly")

        assert within.status_code == 422, within.text
        assert after.status_code == 200, after.text
        assert "idempotent-replayed" not in after.headers
        assert services.graph.counts(tenant.id)["entities"] == 2


def test_an_overlong_idempotency_key_is_refused(harness: Harness) -> None:
    tenant = harness.new_tenant()
    response = post_with_key(harness, tenant, GOOD, "k" * 201)
    assert response.status_code == 400, response.text
    assert error_of(response)["extensions"]["code"] == "VALIDATION"
    assert harness.services.graph.counts(tenant.id)["entities"] == 0


# --- empty body -------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"", b"\n\n  \n"], ids=["empty", "blank-lines"])
def test_an_empty_body_stores_nothing_and_adds_no_provenance_link(
    harness: Harness, body: bytes
) -> None:
    tenant = harness.new_tenant()
    response = harness.ingest(tenant.admin_key, body)

    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == {"entities": 0, "relationships": 0}
    assert response.json()["rejected"] == 0
    assert harness.services.graph.counts(tenant.id) == {"entities": 0, "relationships": 0}
    assert harness.services.graph.verify_provenance(tenant.id).links == 0


def test_ingest_without_a_key_is_refused_with_401(harness: Harness) -> None:
    response = harness.client.post("/v1/ingest", content=GOOD, headers=NDJSON)
    assert response.status_code == 401
    assert error_of(response)["extensions"]["code"] == "AUTH_MISSING_KEY"
