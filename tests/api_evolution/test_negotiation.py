"""Which API version a request is served: the X-IG-Api-Version header, a tenant's default
and the operator's backout switch, as a client sees them over HTTP.

One app per backend for the module; every test that changes a tenant's settings makes its own
tenant. The backout switch is flipped through the REST API, whose write drops this process's
cached value (PlatformSettings.set), and is switched back off in a ``finally``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from conftest import Harness, TenantHandle, person
from intelgraph.gateway.versioning import SUPPORTED_VERSIONS, negotiate
from intelgraph.kernel.errors import IntelGraphError

VERSION_HEADER = "X-IG-Api-Version"
# Valid in both versions: which schema served it is read from the response header.
PORTABLE_QUERY = '{ searchEntities(q: "nobody-here") { total } }'
# Valid in 1.1 only.
VERSION_QUERY = "{ apiVersion }"


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    """One app per backend for this module; every test makes its own tenants."""
    return module_harness


@pytest.fixture(scope="module")
def tenant(harness: Harness) -> TenantHandle:
    """A tenant with default settings, shared by the tests that change nothing."""
    return harness.new_tenant()


def post_graphql(
    harness: Harness,
    key: str,
    query: str,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    variables: dict[str, Any] | None = None,
) -> Any:
    auth = [("Authorization", f"Bearer {key}")]
    extra = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    return harness.client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=auth + extra
    )


def set_tenant_default(harness: Harness, tenant: TenantHandle, version: str | None) -> None:
    response = harness.client.put(
        f"/v1/admin/tenants/{tenant.slug}/api-settings",
        json={"defaultApiVersion": version, "reason": "adopting 1.1"},
        headers=harness.operator_headers,
    )
    assert response.status_code == 200, response.text


def set_force_v1(harness: Harness, forced: bool) -> None:
    response = harness.client.put(
        "/v1/admin/platform/api-default",
        json={"forceV1": forced, "reason": "backout drill"},
        headers=harness.operator_headers,
    )
    assert response.status_code == 200, response.text


def served_version(response: Any) -> str:
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    version: str = response.headers[VERSION_HEADER]
    return version


# --- the header ---------------------------------------------------------------------------


def test_a_request_without_the_version_header_is_served_1_0(
    harness: Harness, tenant: TenantHandle
) -> None:
    response = post_graphql(harness, tenant.admin_key, PORTABLE_QUERY)
    assert served_version(response) == "1.0"
    # ...and really by the 1.0 schema: a 1.1-only field is unknown there.
    refused = post_graphql(harness, tenant.admin_key, VERSION_QUERY)
    assert refused.status_code == 400


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("1", "1.0"),
        ("1.0", "1.0"),
        ("1.1", "1.1"),
        (" 1.1 ", "1.1"),
        ("\t1.0 ", "1.0"),
    ],
)
def test_a_supported_header_value_selects_its_version(
    harness: Harness, tenant: TenantHandle, sent: str, expected: str
) -> None:
    response = post_graphql(harness, tenant.admin_key, PORTABLE_QUERY, {VERSION_HEADER: sent})
    assert served_version(response) == expected


def test_a_1_1_request_runs_on_the_1_1_schema(harness: Harness, tenant: TenantHandle) -> None:
    response = post_graphql(harness, tenant.admin_key, VERSION_QUERY, {VERSION_HEADER: "1.1"})
    assert served_version(response) == "1.1"
    assert response.json()["data"] == {"apiVersion": "1.1"}


@pytest.mark.parametrize("blank", ["", "   "])
def test_an_empty_version_header_gets_the_default(
    harness: Harness, tenant: TenantHandle, blank: str
) -> None:
    response = post_graphql(harness, tenant.admin_key, PORTABLE_QUERY, {VERSION_HEADER: blank})
    assert served_version(response) == "1.0"


@pytest.mark.parametrize("sent", ["1.10", "v1.1", "2", "1.1.0", "1.2", "latest", "1.1, 1.0"])
def test_an_unsupported_version_is_refused_naming_the_supported_ones(
    harness: Harness, tenant: TenantHandle, sent: str
) -> None:
    response = post_graphql(harness, tenant.admin_key, PORTABLE_QUERY, {VERSION_HEADER: sent})
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNSUPPORTED_API_VERSION"
    assert error["extensions"]["supportedVersions"] == ["1.0", "1.1"]
    assert "1.0, 1.1" in error["message"]


def test_a_refused_version_carries_the_rate_limit_headers_like_every_tenant_response(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    admitted = post_graphql(harness, tenant.admin_key, PORTABLE_QUERY)
    refused = post_graphql(harness, tenant.admin_key, PORTABLE_QUERY, {VERSION_HEADER: "9"})

    assert refused.status_code == 400, refused.text
    assert refused.headers["ratelimit-policy"] == admitted.headers["ratelimit-policy"]
    assert '"api_rpm";q=' in refused.headers["ratelimit-policy"]
    assert rpm_remaining(refused) == rpm_remaining(admitted) - 1  # charged, as 400s are


def rpm_remaining(response: Any) -> int:
    """``r`` of the api_rpm item of the RateLimit header."""
    found = re.search(r'"api_rpm";r=(\d+)', response.headers["ratelimit"])
    assert found is not None, response.headers["ratelimit"]
    return int(found[1])


@pytest.mark.parametrize("values", [("1.1", "1.1"), ("1.0", "1.1")])
def test_the_version_header_sent_twice_is_refused(
    harness: Harness, tenant: TenantHandle, values: tuple[str, str]
) -> None:
    headers = [(VERSION_HEADER, value) for value in values]
    response = post_graphql(harness, tenant.admin_key, PORTABLE_QUERY, headers)
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNSUPPORTED_API_VERSION"
    assert "more than once" in error["message"]


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=8))
def test_negotiation_serves_a_supported_version_or_refuses(sent: str) -> None:
    known = {"": None, "1": "1.0", "1.0": "1.0", "1.1": "1.1"}
    try:
        version = negotiate([sent], "1.1", is_forced_v1=False)
    except IntelGraphError as err:
        assert err.code == "UNSUPPORTED_API_VERSION"
        assert sent.strip() not in known
        return
    assert version in SUPPORTED_VERSIONS
    assert sent.strip() in known
    assert version == (known[sent.strip()] or "1.1")


# --- tenant default and the backout switch --------------------------------------------------


def test_a_tenant_default_of_1_1_applies_when_no_header_is_sent(harness: Harness) -> None:
    tenant = harness.new_tenant()
    set_tenant_default(harness, tenant, "1.1")
    response = post_graphql(harness, tenant.admin_key, VERSION_QUERY)
    assert served_version(response) == "1.1"
    assert response.json()["data"] == {"apiVersion": "1.1"}
    blank = post_graphql(harness, tenant.admin_key, VERSION_QUERY, {VERSION_HEADER: ""})
    assert served_version(blank) == "1.1"
    # An explicit 1.0 still gets 1.0, and other tenants keep 1.0.
    pinned = post_graphql(harness, tenant.admin_key, PORTABLE_QUERY, {VERSION_HEADER: "1.0"})
    assert served_version(pinned) == "1.0"
    other = harness.new_tenant()
    assert served_version(post_graphql(harness, other.admin_key, PORTABLE_QUERY)) == "1.0"


def test_a_tenant_default_that_is_not_a_version_is_refused(harness: Harness) -> None:
    tenant = harness.new_tenant()
    response = harness.client.put(
        f"/v1/admin/tenants/{tenant.slug}/api-settings",
        json={"defaultApiVersion": "2.0"},
        headers=harness.operator_headers,
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "VALIDATION"


def test_the_operator_backout_switch_reverts_a_1_1_tenant_to_1_0(harness: Harness) -> None:
    tenant = harness.new_tenant()
    set_tenant_default(harness, tenant, "1.1")
    try:
        set_force_v1(harness, True)
        response = post_graphql(harness, tenant.admin_key, PORTABLE_QUERY)
        assert served_version(response) == "1.0"
        # A client that asks for 1.1 by name still gets it.
        explicit = post_graphql(harness, tenant.admin_key, VERSION_QUERY, {VERSION_HEADER: "1.1"})
        assert served_version(explicit) == "1.1"
        assert explicit.json()["data"] == {"apiVersion": "1.1"}
    finally:
        set_force_v1(harness, False)
    restored = post_graphql(harness, tenant.admin_key, VERSION_QUERY)
    assert served_version(restored) == "1.1"


def test_a_tenant_admin_cannot_flip_the_backout_switch(
    harness: Harness, tenant: TenantHandle
) -> None:
    response = harness.client.put(
        "/v1/admin/platform/api-default", json={"forceV1": True}, headers=tenant.headers
    )
    assert response.status_code == 403, response.text


# --- v1.1-only fields on v1 -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "missing"),
    [
        (VERSION_QUERY, "Cannot query field 'apiVersion' on type 'Query'"),
        (
            "query($id: ID!) { entity(id: $id) { id sources { system } } }",
            "Cannot query field 'sources' on type 'Entity'",
        ),
    ],
)
def test_a_v1_request_for_a_v1_1_field_gets_the_graphql_validation_error(
    harness: Harness, tenant: TenantHandle, query: str, missing: str
) -> None:
    ingested = harness.ingest(tenant.admin_key, [person("ada", "Ada Lovelace")], source="crm")
    assert ingested.status_code == 200, ingested.text
    variables = {"id": ingested.json()["ids"]["ada"]}
    response = post_graphql(harness, tenant.admin_key, query, {VERSION_HEADER: "1.0"}, variables)
    assert response.status_code == 400, response.text
    assert response.headers[VERSION_HEADER] == "1.0"
    body = response.json()
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION"
    assert missing in body["errors"][0]["message"]
    # The same document is valid on 1.1.
    newer = post_graphql(harness, tenant.admin_key, query, {VERSION_HEADER: "1.1"}, variables)
    assert served_version(newer) == "1.1"


# --- adoption metric ------------------------------------------------------------------------


def requests_by_version(harness: Harness, tenant_id: str) -> dict[str, float]:
    response = harness.client.get("/metrics")
    assert response.status_code == 200
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if (
                sample.name == "intelgraph_api_requests_total"
                and sample.labels.get("tenant") == tenant_id
            ):
                counts[sample.labels["version"]] = sample.value
    return counts


def test_api_requests_are_counted_by_tenant_and_version(harness: Harness) -> None:
    tenant = harness.new_tenant()
    for _ in range(2):
        post_graphql(harness, tenant.admin_key, PORTABLE_QUERY)
    for _ in range(3):
        post_graphql(harness, tenant.admin_key, VERSION_QUERY, {VERSION_HEADER: "1.1"})
    # A refused version is not an API request of any version.
    post_graphql(harness, tenant.admin_key, PORTABLE_QUERY, {VERSION_HEADER: "9"})
    assert requests_by_version(harness, tenant.id) == {"1.0": 2.0, "1.1": 3.0}
