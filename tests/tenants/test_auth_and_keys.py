"""Who gets in and what they may do: API keys, roles, suspension, the operator, the audit log."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import pytest
from sqlalchemy import select

from conftest import Harness, TenantHandle, person
from intelgraph.kernel.tenancy import local_operator
from intelgraph.store.tables import api_keys, metadata

ENTITY_QUERY = '{ entity(id: "ent_nope") { id } }'


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    """One app per backend for this module; every test makes its own tenants."""
    return module_harness


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def error_code(response: Any) -> str:
    assert "Traceback" not in response.text
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


def can_read(harness: Harness, key: str) -> int:
    """The status of a harmless read with this key."""
    status: int = harness.graphql(key, ENTITY_QUERY).status_code
    return status


def create_key(harness: Harness, slug: str, headers: dict[str, str], *roles: str) -> Any:
    return harness.client.post(
        f"/v1/admin/tenants/{slug}/keys",
        json={"name": "made in test", "roles": list(roles)},
        headers=headers,
    )


def key_id_of(harness: Harness, tenant: TenantHandle, plaintext: str) -> str:
    prefix = plaintext[:12]
    listed = harness.client.get(
        f"/v1/admin/tenants/{tenant.slug}/keys", headers=harness.operator_headers
    ).json()["keys"]
    (key_id,) = [k["id"] for k in listed if k["prefix"] == prefix]
    return str(key_id)


def new_slug() -> str:
    return f"t-{secrets.token_hex(5)}"


# --- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}],
    ids=["no-header", "basic", "empty-bearer"],
)
def test_a_request_without_a_key_is_refused_with_401(
    harness: Harness, headers: dict[str, str]
) -> None:
    response = harness.client.post("/graphql", json={"query": ENTITY_QUERY}, headers=headers)
    assert response.status_code == 401
    assert error_code(response) == "AUTH_MISSING_KEY"
    assert response.headers["www-authenticate"].lower().startswith("bearer")


def test_an_unknown_key_is_refused_with_401_invalid_key(harness: Harness) -> None:
    response = harness.graphql("igk_" + secrets.token_urlsafe(32), ENTITY_QUERY)
    assert response.status_code == 401
    assert error_code(response) == "AUTH_INVALID_KEY"
    assert response.json()["errors"][0]["extensions"]["retryable"] is False


def test_a_revoked_key_is_refused_at_once_and_other_keys_keep_working(harness: Harness) -> None:
    tenant = harness.new_tenant()
    doomed = harness.new_key(tenant, "analyst")
    assert can_read(harness, doomed) == 200
    key_id = key_id_of(harness, tenant, doomed)

    revoked = harness.client.delete(
        f"/v1/admin/tenants/{tenant.slug}/keys/{key_id}", headers=harness.operator_headers
    )

    assert revoked.status_code == 204, revoked.text
    response = harness.graphql(doomed, ENTITY_QUERY)
    assert response.status_code == 401
    assert error_code(response) == "AUTH_INVALID_KEY"
    ingest = harness.ingest(doomed, [person("p", "P")])
    assert ingest.status_code == 401
    assert can_read(harness, tenant.admin_key) == 200
    listed = harness.client.get(
        f"/v1/admin/tenants/{tenant.slug}/keys", headers=harness.operator_headers
    ).json()["keys"]
    assert next(k for k in listed if k["id"] == key_id)["revokedAt"] is not None


def test_revoking_a_key_twice_or_an_unknown_key_is_not_found(harness: Harness) -> None:
    tenant = harness.new_tenant()
    key = harness.new_key(tenant, "viewer")
    key_id = key_id_of(harness, tenant, key)
    url = f"/v1/admin/tenants/{tenant.slug}/keys/{key_id}"
    assert harness.client.delete(url, headers=harness.operator_headers).status_code == 204

    again = harness.client.delete(url, headers=harness.operator_headers)
    unknown = harness.client.delete(
        f"/v1/admin/tenants/{tenant.slug}/keys/key_unknown", headers=harness.operator_headers
    )

    assert again.status_code == unknown.status_code == 404
    assert error_code(again) == error_code(unknown) == "KEY_NOT_FOUND"


def test_a_suspended_tenant_is_refused_until_it_is_reactivated(harness: Harness) -> None:
    tenant, bystander = harness.new_tenant(), harness.new_tenant()
    analyst = harness.new_key(tenant, "analyst")

    suspended = harness.client.post(
        f"/v1/admin/tenants/{tenant.slug}/suspend",
        json={"reason": "unpaid invoice"},
        headers=harness.operator_headers,
    )

    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["tenant"]["status"] == "suspended"
    for key in (tenant.admin_key, analyst):
        response = harness.graphql(key, ENTITY_QUERY)
        assert response.status_code == 403
        assert error_code(response) == "TENANT_SUSPENDED"
    ingest = harness.ingest(analyst, [person("p", "P")])
    assert ingest.status_code == 403
    assert error_code(ingest) == "TENANT_SUSPENDED"
    assert can_read(harness, bystander.admin_key) == 200

    activated = harness.client.post(
        f"/v1/admin/tenants/{tenant.slug}/activate", headers=harness.operator_headers
    )

    assert activated.status_code == 200, activated.text
    assert activated.json()["tenant"]["status"] == "active"
    assert can_read(harness, tenant.admin_key) == 200
    assert harness.ingest(analyst, [person("p", "P")]).status_code == 200


# --- roles ---------------------------------------------------------------------------------------


def test_a_viewer_cannot_ingest_and_is_told_which_action_was_denied(harness: Harness) -> None:
    tenant = harness.new_tenant()
    viewer = harness.new_key(tenant, "viewer")

    response = harness.ingest(viewer, [person("p-1", "Ada")])

    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "POLICY_DENIED"
    assert error["extensions"]["action"] == "ingest.write"
    assert "ingest.write" in error["message"]
    assert "analyst" in error["message"]  # the hint names the smallest role that would do
    assert harness.services.graph.counts(tenant.id)["entities"] == 0
    assert can_read(harness, viewer) == 200


def test_an_analyst_can_ingest_but_cannot_create_keys(harness: Harness) -> None:
    tenant = harness.new_tenant()
    analyst = harness.new_key(tenant, "analyst")

    assert harness.ingest(analyst, [person("p-1", "Ada")]).status_code == 200
    refused = create_key(harness, tenant.slug, bearer(analyst), "viewer")

    assert harness.services.graph.counts(tenant.id)["entities"] == 1
    assert refused.status_code == 403
    assert error_code(refused) == "POLICY_DENIED"


def test_a_tenant_admin_manages_keys_of_its_own_tenant_only(harness: Harness) -> None:
    mine, theirs = harness.new_tenant(), harness.new_tenant()

    created = create_key(harness, mine.slug, mine.headers, "analyst")
    assert created.status_code == 201, created.text
    new_key = created.json()["apiKey"]
    assert new_key.startswith("igk_")
    assert created.json()["key"]["roles"] == ["analyst"]
    assert harness.ingest(new_key, [person("p-1", "Ada")]).status_code == 200
    assert (
        harness.client.get(f"/v1/admin/tenants/{mine.slug}/keys", headers=mine.headers).status_code
        == 200
    )

    their_key_id = key_id_of(harness, theirs, theirs.admin_key)
    attempts = [
        create_key(harness, theirs.slug, mine.headers, "admin"),
        harness.client.get(f"/v1/admin/tenants/{theirs.slug}/keys", headers=mine.headers),
        harness.client.delete(
            f"/v1/admin/tenants/{theirs.slug}/keys/{their_key_id}", headers=mine.headers
        ),
        harness.client.post(f"/v1/admin/tenants/{theirs.slug}/suspend", headers=mine.headers),
    ]
    for response in attempts:
        assert response.status_code == 403, response.text
        assert error_code(response) == "POLICY_DENIED"
    assert can_read(harness, theirs.admin_key) == 200
    assert len(harness.services.tenants.list_keys(local_operator("test"), theirs.id)) == 1


def test_a_tenant_admin_cannot_create_tenants(harness: Harness) -> None:
    tenant = harness.new_tenant()
    response = harness.client.post(
        "/v1/admin/tenants", json={"name": "Sneaky", "slug": new_slug()}, headers=tenant.headers
    )
    assert response.status_code == 403
    assert error_code(response) == "POLICY_DENIED"


def test_an_unknown_role_is_refused(harness: Harness) -> None:
    tenant = harness.new_tenant()
    response = create_key(harness, tenant.slug, harness.operator_headers, "superuser")
    assert response.status_code == 400
    assert error_code(response) == "VALIDATION"


# --- the operator --------------------------------------------------------------------------------


def test_the_operator_creates_tenants_but_cannot_read_or_write_their_data(
    harness: Harness,
) -> None:
    slug = new_slug()
    created = harness.client.post(
        "/v1/admin/tenants",
        json={"name": "Acme", "slug": slug, "plan": "standard"},
        headers=harness.operator_headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["tenant"]["slug"] == slug
    assert body["apiKey"].startswith("igk_")
    assert body["key"]["roles"] == ["admin"]

    operator_key = harness.operator_headers["Authorization"].removeprefix("Bearer ")
    read = harness.graphql(operator_key, ENTITY_QUERY)
    write = harness.ingest(operator_key, [person("p-1", "Ada")])

    for response in (read, write):
        assert response.status_code == 403, response.text
        assert error_code(response) == "POLICY_DENIED"
    assert "entity.read" in read.json()["errors"][0]["message"]
    assert harness.services.graph.counts(body["tenant"]["id"])["entities"] == 0


def test_a_taken_slug_is_a_conflict(harness: Harness) -> None:
    tenant = harness.new_tenant()
    response = harness.client.post(
        "/v1/admin/tenants",
        json={"name": "Again", "slug": tenant.slug},
        headers=harness.operator_headers,
    )
    assert response.status_code == 409
    assert error_code(response) == "TENANT_EXISTS"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "X", "slug": "Has Spaces"},
        {"name": "X", "slug": "UPPER"},
        {"name": "X", "slug": "-leading-dash"},
        {"name": "X", "slug": "a"},
        {"name": "X", "slug": "x" * 64},
        {"name": "X", "slug": "ok-slug", "plan": "gold"},
        {"name": "", "slug": "ok-slug"},
        {"slug": "ok-slug"},
        {"name": "X", "slug": "ok-slug", "region": "Mars Base!"},
    ],
    ids=["spaces", "upper", "dash", "short", "long", "plan", "empty-name", "no-name", "region"],
)
def test_a_bad_slug_plan_name_or_region_is_refused_with_400(
    harness: Harness, body: dict[str, Any]
) -> None:
    if body.get("slug") == "ok-slug":
        body = body | {"slug": new_slug()}
    before = len(harness.services.tenants.list_tenants())
    response = harness.client.post("/v1/admin/tenants", json=body, headers=harness.operator_headers)
    assert response.status_code == 400, response.text
    assert error_code(response) == "VALIDATION"
    assert len(harness.services.tenants.list_tenants()) == before


# --- audit ---------------------------------------------------------------------------------------


def test_tenant_and_key_changes_are_in_the_audit_log(harness: Harness) -> None:
    tenant = harness.new_tenant()
    key = harness.new_key(tenant, "viewer")
    key_id = key_id_of(harness, tenant, key)
    harness.client.delete(
        f"/v1/admin/tenants/{tenant.slug}/keys/{key_id}", headers=harness.operator_headers
    )

    response = harness.client.get(
        "/v1/admin/audit", params={"tenant": tenant.slug}, headers=harness.operator_headers
    )

    assert response.status_code == 200, response.text
    records = response.json()["records"]
    assert all(r["tenantId"] == tenant.id for r in records)
    by_action = {r["action"]: r for r in records}
    assert {"tenant.create", "key.create", "key.revoke"} <= set(by_action)
    assert by_action["tenant.create"]["target"] == f"tenant:{tenant.slug}"
    assert by_action["key.create"]["target"] == f"key:{key_id}"
    assert by_action["key.revoke"]["target"] == f"key:{key_id}"
    assert by_action["key.create"]["newValue"]["roles"] == ["viewer"]
    assert all(r["actor"].startswith("operator") for r in by_action.values())
    assert all(r["createdAt"] for r in records)


def test_a_tenant_admin_reads_only_its_own_audit_records(harness: Harness) -> None:
    mine, theirs = harness.new_tenant(), harness.new_tenant()
    created = create_key(harness, mine.slug, mine.headers, "viewer").json()

    own = harness.client.get("/v1/admin/audit", headers=mine.headers)
    asking_for_theirs = harness.client.get(
        "/v1/admin/audit", params={"tenant": theirs.slug}, headers=mine.headers
    )

    for response in (own, asking_for_theirs):
        assert response.status_code == 200, response.text
        assert {r["tenantId"] for r in response.json()["records"]} == {mine.id}
    key_create = next(r for r in own.json()["records"] if r["action"] == "key.create")
    assert key_create["actor"] != "operator:operator"  # the tenant admin's key did it
    assert key_create["target"] == f"key:{created['key']['id']}"


def test_a_viewer_cannot_read_the_audit_log(harness: Harness) -> None:
    tenant = harness.new_tenant()
    viewer = harness.new_key(tenant, "viewer")
    response = harness.client.get("/v1/admin/audit", headers=bearer(viewer))
    assert response.status_code == 403
    assert error_code(response) == "POLICY_DENIED"


# --- secrets at rest -----------------------------------------------------------------------------


def test_keys_are_stored_only_as_a_hash(harness: Harness) -> None:
    tenant = harness.new_tenant()
    viewer = harness.new_key(tenant, "viewer")

    with harness.services.engine.connect() as conn:
        rows = conn.execute(select(api_keys).where(api_keys.c.tenant_id == tenant.id)).all()
        everything = {
            table.name: [tuple(row) for row in conn.execute(select(table))]
            for table in metadata.sorted_tables
        }

    assert len(rows) == 2
    hashes = {row.key_hash for row in rows}
    for plaintext in (tenant.admin_key, viewer):
        assert hashlib.sha256(plaintext.encode()).hexdigest() in hashes
        for table_name, table_rows in everything.items():
            assert plaintext not in repr(table_rows), f"plaintext key found in {table_name}"
    listing = harness.client.get(
        f"/v1/admin/tenants/{tenant.slug}/keys", headers=harness.operator_headers
    )
    assert tenant.admin_key not in listing.text
    assert viewer not in listing.text


# --- public endpoints ----------------------------------------------------------------------------


def test_health_readiness_and_metrics_need_no_key(harness: Harness) -> None:
    harness.graphql("igk_wrong", ENTITY_QUERY)  # so at least one request was counted

    healthz = harness.client.get("/healthz")
    readyz = harness.client.get("/readyz")
    metrics = harness.client.get("/metrics")

    assert healthz.status_code == 200 and healthz.json()["status"] == "ok"
    assert readyz.status_code == 200 and readyz.json()["status"] == "ready"
    assert metrics.status_code == 200
    assert "intelgraph_http_requests_total" in metrics.text
    assert 'status="401"' in metrics.text
