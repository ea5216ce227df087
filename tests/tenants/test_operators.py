"""Named operators: a key per person, with a role, and audit records that name the person."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from conftest import Harness
from intelgraph.app import create_app
from intelgraph.audit import service as audit
from intelgraph.bootstrap import start_services
from intelgraph.cli.context import services as cli_services
from intelgraph.cli.main import app as cli
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.kernel.tenancy import Principal, local_operator
from intelgraph.settings import Settings
from intelgraph.tenants.operators import IssuedOperatorKey

LEAD = local_operator("lead")  # the platform-admin at the terminal who hands out keys
BOUND = 5.0


def unique(name: str) -> str:
    """Operator names are unique per database, and the PostgreSQL one is shared by tests."""
    return f"{name}-{secrets.token_hex(3)}"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def error_of(response: Any) -> dict[str, Any]:
    assert "Traceback" not in response.text
    error: dict[str, Any] = response.json()["errors"][0]
    return error


def new_operator(harness: Harness, role: str, name: str = "alice") -> IssuedOperatorKey:
    return harness.services.operators.create(LEAD, name=unique(name), role=role)


def create_tenant(harness: Harness, key: str) -> Any:
    slug = f"t-{secrets.token_hex(4)}"
    return harness.client.post(
        "/v1/admin/tenants", json={"name": f"Tenant {slug}", "slug": slug}, headers=bearer(key)
    )


# --- authentication and audit -----------------------------------------------------------------


def test_a_named_operator_key_authenticates_as_that_person_with_their_role(
    harness: Harness,
) -> None:
    issued = new_operator(harness, "billing-admin")

    principal = harness.services.tenants.authenticate(issued.plaintext)

    assert principal == Principal(
        tenant_id=None,
        key_id=issued.operator.key_id,
        name=issued.operator.name,
        roles=("billing-admin",),
        is_operator=True,
    )
    assert principal.actor == f"operator:{issued.operator.name}"
    assert issued.plaintext.startswith("igo_")


def test_a_rest_admin_change_made_with_alices_key_is_audited_as_alice(harness: Harness) -> None:
    alice = new_operator(harness, "platform-admin")

    created = create_tenant(harness, alice.plaintext)

    assert created.status_code == 201, created.text
    slug = created.json()["tenant"]["slug"]
    records = harness.client.get(
        "/v1/admin/audit", params={"tenant": slug}, headers=bearer(alice.plaintext)
    ).json()["records"]
    (record,) = [r for r in records if r["action"] == "tenant.create"]
    assert record["actor"] == f"operator:{alice.operator.name}"


def test_the_shared_operator_key_still_acts_as_the_platform_admin_named_operator(
    harness: Harness, settings: Settings
) -> None:
    assert settings.operator_key is not None
    principal = harness.services.tenants.authenticate(settings.operator_key)

    assert principal == Principal(
        tenant_id=None,
        key_id="operator",
        name="operator",
        roles=("platform-admin",),
        is_operator=True,
    )
    assert create_tenant(harness, settings.operator_key).status_code == 201


# --- roles ----------------------------------------------------------------------------------------


def test_a_billing_admin_operator_is_refused_a_tenant_create_naming_its_role(
    harness: Harness,
) -> None:
    billing = new_operator(harness, "billing-admin", "bob")

    response = create_tenant(harness, billing.plaintext)

    assert response.status_code == 403
    error = error_of(response)
    assert error["extensions"]["code"] == "POLICY_DENIED"
    assert "billing-admin" in error["message"]
    assert "tenant.admin" in error["message"]


def test_an_auditor_may_read_the_audit_log_but_not_create_a_tenant(harness: Harness) -> None:
    auditor = new_operator(harness, "auditor", "carol")

    log = harness.client.get("/v1/admin/audit", headers=bearer(auditor.plaintext))
    refused = create_tenant(harness, auditor.plaintext)

    assert log.status_code == 200, log.text
    assert any(r["action"] == "operator.create" for r in log.json()["records"])
    assert refused.status_code == 403
    assert "auditor" in error_of(refused)["message"]


def test_only_a_platform_admin_may_create_or_revoke_operators(harness: Harness) -> None:
    trust = harness.services.tenants.authenticate(new_operator(harness, "trust-admin").plaintext)

    with pytest.raises(IntelGraphError) as created:
        harness.services.operators.create(trust, name=unique("mallory"), role="platform-admin")
    with pytest.raises(IntelGraphError) as listed:
        harness.services.operators.list_operators(trust)

    assert created.value.code == "POLICY_DENIED"
    assert "trust-admin" in created.value.message
    assert listed.value.code == "POLICY_DENIED"


# --- revocation ---------------------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cached(settings: Settings, clock: ManualClock) -> Iterator[Harness]:
    """An app whose principal cache runs on a clock the test moves."""
    services = start_services(
        settings.model_copy(update={"authn_cache_seconds": BOUND}), clock=clock
    )
    with TestClient(create_app(services=services)) as client:
        yield Harness(client, services, {"Authorization": f"Bearer {settings.operator_key}"})


def test_a_revoked_operator_key_is_refused_with_401_once_the_cache_bound_passes(
    cached: Harness, clock: ManualClock
) -> None:
    alice = new_operator(cached, "auditor")
    assert cached.client.get("/v1/admin/audit", headers=bearer(alice.plaintext)).status_code == 200

    # Revoked as the CLI or another replica would: not through this app's admin API.
    revoked = cached.services.operators.revoke(LEAD, alice.operator.name, reason="left the team")
    clock.advance(BOUND + 0.5)
    response = cached.client.get("/v1/admin/audit", headers=bearer(alice.plaintext))

    assert revoked.revoked_at is not None
    assert response.status_code == 401
    assert error_of(response)["extensions"]["code"] == "AUTH_INVALID_KEY"
    with pytest.raises(IntelGraphError) as refused:
        cached.services.tenants.authenticate(alice.plaintext)
    assert refused.value.code == "AUTH_INVALID_KEY"


def test_a_revoke_is_audited_with_its_reason_and_the_name_stays_taken(harness: Harness) -> None:
    alice = new_operator(harness, "auditor")
    name = alice.operator.name

    harness.services.operators.revoke(LEAD, name, reason="left the team")

    records = audit.list_records(harness.services.engine, audit.PLATFORM, 1000)
    (record,) = [
        r for r in records if r.target == f"operator:{name}" and r.action == "operator.revoke"
    ]
    assert record.actor == "cli:lead"
    assert record.reason == "left the team"
    with pytest.raises(IntelGraphError) as again:
        harness.services.operators.create(LEAD, name=name, role="auditor")
    assert again.value.code == "OPERATOR_EXISTS"


# --- refusals that say what to fix ----------------------------------------------------------


def test_an_unknown_role_is_refused_listing_the_four_roles(harness: Harness) -> None:
    with pytest.raises(IntelGraphError) as refused:
        harness.services.operators.create(LEAD, name=unique("dave"), role="admin")

    assert refused.value.code == "VALIDATION"
    for role in ("platform-admin", "billing-admin", "trust-admin", "auditor"):
        assert role in refused.value.message


def test_a_name_already_taken_is_refused_with_operator_exists(harness: Harness) -> None:
    first = new_operator(harness, "auditor", "erin")

    with pytest.raises(IntelGraphError) as refused:
        harness.services.operators.create(LEAD, name=first.operator.name, role="trust-admin")

    assert refused.value.code == "OPERATOR_EXISTS"
    assert refused.value.status == 409
    assert "choose another name" in refused.value.message
    listed = [
        o for o in harness.services.operators.list_operators(LEAD) if o.name == first.operator.name
    ]
    assert [o.role for o in listed] == ["auditor"]


@pytest.mark.parametrize(
    "name",
    ["Alice", "alice smith", "", "-alice", "a" * 65, "operator"],
    ids=["upper-case", "space", "empty", "leading-dash", "too-long", "reserved"],
)
def test_a_bad_name_is_refused_saying_what_a_name_may_be(harness: Harness, name: str) -> None:
    with pytest.raises(IntelGraphError) as refused:
        harness.services.operators.create(LEAD, name=name, role="auditor")

    assert refused.value.code == "VALIDATION"
    assert "choose another" in refused.value.message or "lower-case" in refused.value.message


def test_revoking_an_unknown_or_already_revoked_operator_is_refused(harness: Harness) -> None:
    alice = new_operator(harness, "auditor")
    harness.services.operators.revoke(LEAD, alice.operator.name, reason="rotated")

    with pytest.raises(IntelGraphError) as unknown:
        harness.services.operators.revoke(LEAD, unique("nobody"), reason="typo")
    with pytest.raises(IntelGraphError) as twice:
        harness.services.operators.revoke(LEAD, alice.operator.name, reason="again")
    with pytest.raises(IntelGraphError) as no_reason:
        harness.services.operators.revoke(LEAD, unique("frank"), reason="  ")

    assert unknown.value.code == "OPERATOR_NOT_FOUND"
    assert "intelgraph operator list" in unknown.value.message
    assert twice.value.code == "CONFLICT"
    assert "already revoked" in twice.value.message
    assert no_reason.value.code == "VALIDATION"


# --- the CLI ------------------------------------------------------------------------------------


class Terminal:
    """Runs `intelgraph …` with INTELGRAPH_* pointing at the test's database."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = {
            "INTELGRAPH_DATABASE_URL": settings.database_url,
            "INTELGRAPH_DATA_DIR": str(settings.data_dir),
            "INTELGRAPH_OPERATOR_KEY": str(settings.operator_key),
            "INTELGRAPH_OPERATOR_NAME": "lead",
            "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
            "COLUMNS": "200",
        }
        self.runner = CliRunner()

    def run(self, *args: str) -> Any:
        cli_services.cache_clear()  # the CLI builds its services once per process
        try:
            return self.runner.invoke(cli, list(args), env=self.env)
        finally:
            cli_services.cache_clear()


@pytest.fixture
def terminal(settings: Settings, tmp_path: Path) -> Iterator[Terminal]:
    start_services(settings).engine.dispose()  # the database at this release's schema
    yield Terminal(settings)
    cli_services.cache_clear()


def test_operator_create_list_revoke_from_the_terminal(terminal: Terminal) -> None:
    name = unique("alice")
    services = start_services(terminal.settings)

    created = terminal.run("operator", "create", "--name", name, "--role", "auditor", "--json")
    assert created.exit_code == 0, created.output
    body = orjson.loads(created.stdout)
    key = body["apiKey"]
    assert services.tenants.authenticate(key).actor == f"operator:{name}"

    listed = terminal.run("operator", "list")
    assert listed.exit_code == 0, listed.output
    assert name in listed.output and "auditor" in listed.output
    assert key not in listed.output
    as_json = terminal.run("operator", "list", "--json")
    assert key not in as_json.stdout
    (row,) = [o for o in orjson.loads(as_json.stdout)["operators"] if o["name"] == name]
    assert row["createdBy"] == "cli:lead" and row["revokedAt"] is None

    revoked = terminal.run("operator", "revoke", name, "--reason", "left the team")
    assert revoked.exit_code == 0, revoked.output
    assert f"revoked operator {name}" in revoked.output
    with pytest.raises(IntelGraphError) as refused:
        services.tenants.authenticate(key)
    assert refused.value.code == "AUTH_INVALID_KEY"
    after = terminal.run("operator", "list")
    assert "left the team" in after.output
    services.engine.dispose()


def test_operator_create_without_json_prints_the_key_once_in_words(terminal: Terminal) -> None:
    result = terminal.run("operator", "create", "--name", unique("gina"), "--role", "trust-admin")

    assert result.exit_code == 0, result.output
    assert "created operator" in result.output
    assert "shown once" in result.output
    assert "igo_" in result.output


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["create", "--name", "henry", "--role", "superuser"], "VALIDATION"),
        (["create", "--name", "Henry VIII", "--role", "auditor"], "VALIDATION"),
        (["revoke", "nobody-here", "--reason", "typo"], "OPERATOR_NOT_FOUND"),
    ],
    ids=["bad-role", "bad-name", "unknown-operator"],
)
def test_operator_refusals_are_one_line_and_exit_1(
    terminal: Terminal, args: list[str], code: str
) -> None:
    result = terminal.run("operator", *args)

    assert result.exit_code == 1
    assert code in result.output
    assert "Traceback" not in result.output
