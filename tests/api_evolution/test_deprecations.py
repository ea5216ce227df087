"""Deprecated fields keep working and say so: Deprecation/Sunset/Link headers,
``extensions.deprecations``, a usage counter and a rewrite hint, exactly when a deprecated
field is executed.

Decision (docs/api/deprecations.md): only *executed* fields count. A deprecated field inside a
skipped ``@include(if: false)`` / ``@skip(if: true)`` branch was validated but not run, so the
response carries no deprecation signal for it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from prometheus_client.parser import text_string_to_metric_families

from conftest import Harness, TenantHandle, person
from intelgraph.api.deprecations import deprecations

REPO = Path(__file__).resolve().parents[2]
DEPRECATION_HEADERS = ("Deprecation", "Sunset", "Link", "X-IG-Rewrite-Hint")
LINK = re.compile(
    r"^<(?P<base>[^>]*)/docs/api/deprecations\.md#(?P<field>[A-Za-z]+\.[A-Za-z]+)>; "
    r'rel="deprecation"$'
)

OLD_NAME = "query Old($id: ID!) { entity(id: $id) { id name } }"
NEW_ONLY = "query New($id: ID!) { entity(id: $id) { id label attributes } }"
ALL_OLD = "query AllOld($id: ID!) { getEntity(id: $id) { id name props } }"


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    """One app per backend for this module; every test makes its own tenants."""
    return module_harness


@dataclass
class Seeded:
    tenant: TenantHandle
    entity_id: str


def seed(harness: Harness) -> Seeded:
    tenant = harness.new_tenant()
    response = harness.ingest(tenant.admin_key, [person("ada", "Ada Lovelace", city="London")])
    assert response.status_code == 200, response.text
    return Seeded(tenant, response.json()["ids"]["ada"])


@pytest.fixture(scope="module")
def seeded(harness: Harness) -> Seeded:
    """A tenant with one entity, for tests that count nothing per tenant."""
    return seed(harness)


def run(
    harness: Harness,
    key: str,
    query: str,
    variables: dict[str, Any],
    version: str | None = None,
) -> Any:
    headers = {"Authorization": f"Bearer {key}"}
    if version is not None:
        headers["X-IG-Api-Version"] = version
    response = harness.client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text
    return response


def assert_no_deprecation_signal(response: Any) -> None:
    for header in DEPRECATION_HEADERS:
        assert header not in response.headers, f"unexpected {header}: {response.headers[header]}"
    assert "deprecations" not in response.json().get("extensions", {})
    assert "rewriteHint" not in response.json().get("extensions", {})


# --- headers and extensions -----------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_an_executed_deprecated_field_brings_deprecation_sunset_and_link(
    harness: Harness, seeded: Seeded, version: str
) -> None:
    response = run(harness, seeded.tenant.admin_key, OLD_NAME, {"id": seeded.entity_id}, version)
    record = deprecations()["Entity.name"]

    deprecation = response.headers["Deprecation"]
    assert re.fullmatch(r"@\d+", deprecation), deprecation
    deprecated_at = datetime.fromtimestamp(int(deprecation[1:]), tz=UTC)
    assert deprecated_at == record.deprecatedAt

    sunset = parsedate_to_datetime(response.headers["Sunset"])
    assert response.headers["Sunset"].endswith(" GMT")
    assert sunset == record.sunset
    assert sunset >= deprecated_at

    link = LINK.match(response.headers["Link"])
    assert link is not None, response.headers["Link"]
    assert link["field"] == "Entity.name"

    assert response.json()["extensions"]["deprecations"] == [
        {"field": "Entity.name", "replacement": "Entity.label", "sunset": "2027-06-30T00:00:00Z"}
    ]


def test_every_deprecated_field_executed_is_listed_once(harness: Harness, seeded: Seeded) -> None:
    response = run(harness, seeded.tenant.admin_key, ALL_OLD, {"id": seeded.entity_id})
    used = ["Entity.name", "Entity.props", "Query.getEntity"]
    listed = response.json()["extensions"]["deprecations"]
    assert [item["field"] for item in listed] == used
    assert {item["replacement"] for item in listed} == {
        "Entity.label",
        "Entity.attributes",
        "Query.entity",
    }
    links = [LINK.match(part.strip()) for part in response.headers["Link"].split(",")]
    assert [link["field"] for link in links if link is not None] == used


def test_the_sunset_is_never_earlier_than_the_deprecation_date() -> None:
    for field, record in deprecations().items():
        assert record.sunset >= record.deprecatedAt, field


def test_a_query_of_only_new_fields_carries_no_deprecation_signal(
    harness: Harness, seeded: Seeded
) -> None:
    response = run(harness, seeded.tenant.admin_key, NEW_ONLY, {"id": seeded.entity_id})
    assert_no_deprecation_signal(response)
    assert "extensions" not in response.json()


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("query($id: ID!) { entity(id: $id) { id label name @include(if: false) } }", {}),
        ("query($id: ID!) { entity(id: $id) { id label name @skip(if: true) } }", {}),
        (
            "query($id: ID!, $old: Boolean!) "
            "{ entity(id: $id) { id label name @include(if: $old) } }",
            {"old": False},
        ),
        (
            "query($id: ID!) { entity(id: $id) { id ... @include(if: false) { name props } } }",
            {},
        ),
        (
            "query($id: ID!) { entity(id: $id) { id ...Old @include(if: false) } }"
            " fragment Old on Entity { name }",
            {},
        ),
        (
            "query($id: ID!) { entity(id: $id) { id } "
            "getEntity(id: $id) @include(if: false) { id } }",
            {},
        ),
    ],
    ids=[
        "include-false",
        "skip-true",
        "include-variable",
        "inline-fragment",
        "fragment-spread",
        "root-field",
    ],
)
def test_a_deprecated_field_in_a_skipped_branch_is_not_reported(
    harness: Harness, seeded: Seeded, query: str, variables: dict[str, Any]
) -> None:
    response = run(harness, seeded.tenant.admin_key, query, {"id": seeded.entity_id} | variables)
    assert_no_deprecation_signal(response)


def test_the_same_field_in_a_branch_that_runs_is_reported(harness: Harness, seeded: Seeded) -> None:
    query = (
        "query($id: ID!, $old: Boolean!) { entity(id: $id) { id label name @include(if: $old) } }"
    )
    response = run(harness, seeded.tenant.admin_key, query, {"id": seeded.entity_id, "old": True})
    assert response.headers["Deprecation"].startswith("@")
    assert [d["field"] for d in response.json()["extensions"]["deprecations"]] == ["Entity.name"]


def test_a_deprecated_field_under_a_missing_entity_is_not_executed_nor_reported(
    harness: Harness, seeded: Seeded
) -> None:
    response = run(harness, seeded.tenant.admin_key, OLD_NAME, {"id": "ent_does_not_exist"})
    assert response.json()["data"] == {"entity": None}
    assert_no_deprecation_signal(response)


def test_deprecated_fields_return_the_values_of_their_replacements(
    harness: Harness, seeded: Seeded
) -> None:
    query = (
        "query($id: ID!) { getEntity(id: $id) { id name props label attributes } "
        "entity(id: $id) { id } }"
    )
    data = run(harness, seeded.tenant.admin_key, query, {"id": seeded.entity_id}).json()["data"]
    old = data["getEntity"]
    assert old["name"] == old["label"] == "Ada Lovelace"
    assert old["props"] == old["attributes"] == {"city": "London"}
    assert old["id"] == data["entity"]["id"] == seeded.entity_id


# --- the usage counter ----------------------------------------------------------------------


def deprecated_usage(harness: Harness, tenant_id: str) -> dict[str, float]:
    response = harness.client.get("/metrics")
    assert response.status_code == 200
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if (
                sample.name == "intelgraph_deprecated_field_usage_total"
                and sample.labels.get("tenant") == tenant_id
            ):
                counts[sample.labels["field"]] = sample.value
    return counts


def test_deprecated_field_usage_is_counted_by_field_and_tenant(harness: Harness) -> None:
    first, second = seed(harness), seed(harness)
    for _ in range(2):
        run(harness, first.tenant.admin_key, OLD_NAME, {"id": first.entity_id})
    run(harness, first.tenant.admin_key, ALL_OLD, {"id": first.entity_id})
    run(harness, first.tenant.admin_key, NEW_ONLY, {"id": first.entity_id})
    skipped = "query($id: ID!) { entity(id: $id) { id props @include(if: false) } }"
    run(harness, first.tenant.admin_key, skipped, {"id": first.entity_id})
    run(harness, second.tenant.admin_key, OLD_NAME, {"id": second.entity_id})

    assert deprecated_usage(harness, first.tenant.id) == {
        "Entity.name": 3.0,
        "Entity.props": 1.0,
        "Query.getEntity": 1.0,
    }
    assert deprecated_usage(harness, second.tenant.id) == {"Entity.name": 1.0}


# --- rewrite hints --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        OLD_NAME,
        ALL_OLD,
        "query Mixed($id: ID!) { a: entity(id: $id) { id n: name label } "
        "b: getEntity(id: $id) { ...Old } } fragment Old on Entity { props type }",
    ],
    ids=["name", "all-old", "aliases-and-fragment"],
)
def test_the_rewrite_hint_runs_to_the_same_data_without_deprecated_fields(
    harness: Harness, seeded: Seeded, query: str
) -> None:
    key = seeded.tenant.admin_key
    variables = {"id": seeded.entity_id}
    original = run(harness, key, query, variables)
    hint = original.json()["extensions"]["rewriteHint"]
    document_id = hint["documentId"]
    assert document_id == "sha256:" + hashlib.sha256(hint["document"].encode()).hexdigest()
    assert original.headers["X-IG-Rewrite-Hint"] == document_id

    rewritten = harness.client.post(
        "/graphql",
        json={"documentId": document_id, "variables": variables},
        headers=seeded.tenant.headers,
    )
    assert rewritten.status_code == 200, rewritten.text
    assert rewritten.json()["data"] == original.json()["data"]
    assert list(rewritten.json()["data"]) == list(original.json()["data"])  # same key order
    assert_no_deprecation_signal(rewritten)
    # Sending the hint's text is just as clean.
    assert_no_deprecation_signal(run(harness, key, hint["document"], variables))


def test_a_rewrite_hint_is_registered_for_the_asking_tenant_only(
    harness: Harness, seeded: Seeded
) -> None:
    query = "query Lonely($id: ID!) { entity(id: $id) { lonelyName: name } }"
    original = run(harness, seeded.tenant.admin_key, query, {"id": seeded.entity_id})
    document_id = original.json()["extensions"]["rewriteHint"]["documentId"]
    stranger = harness.new_tenant()
    response = harness.client.post(
        "/graphql",
        json={"documentId": document_id, "variables": {"id": seeded.entity_id}},
        headers=stranger.headers,
    )
    assert response.status_code == 404, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


# --- the document the Link header points at -------------------------------------------------


def test_the_deprecations_document_is_served_without_an_api_key(harness: Harness) -> None:
    response = harness.client.get("/docs/api/deprecations.md")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/markdown")
    for field, record in deprecations().items():
        assert f"## {field}" in response.text
        assert f"`{record.replacement}`" in response.text
    assert "@include(if: false)" in response.text  # the documented decision


class AnchorIds(HTMLParser):
    """Every ``id`` attribute of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(value for name, value in attrs if name == "id" and value)


def test_every_link_anchor_exists_in_the_page_it_points_to(
    harness: Harness, seeded: Seeded
) -> None:
    response = run(harness, seeded.tenant.admin_key, ALL_OLD, {"id": seeded.entity_id})
    links = [LINK.match(part.strip()) for part in response.headers["Link"].split(",")]
    fragments = {link["field"] for link in links if link is not None}
    assert fragments == set(deprecations())  # ALL_OLD uses every deprecated field

    page = harness.client.get("/docs/api/deprecations.md").text
    anchors = AnchorIds()
    anchors.feed(MarkdownIt("commonmark", {"html": True}).render(page))  # as a viewer shows it
    assert fragments <= anchors.ids, f"missing anchors: {sorted(fragments - anchors.ids)}"


def test_the_served_deprecations_document_matches_the_one_in_the_repository(
    harness: Harness,
) -> None:
    served = harness.client.get("/docs/api/deprecations.md").text
    in_repo = (REPO / "docs/api/deprecations.md").read_text(encoding="utf-8")
    assert served.strip() == in_repo.strip()
