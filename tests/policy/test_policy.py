"""Who may do what: the packaged Rego policy as services see it through PolicyEngine."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intelgraph.kernel.errors import INTERNAL, POLICY_DENIED, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy import Action, Decision, PolicyEngine

ROLES = ("viewer", "analyst", "admin")
ACTIONS = tuple(Action)
DATA_ACTIONS = (Action.ENTITY_READ, Action.ANALYTICS_READ, Action.INGEST_WRITE)

# The role matrix from the product spec, written out independently of the policy.
ALLOWED_BY_ROLE: dict[str, set[Action]] = {
    "viewer": {Action.ENTITY_READ, Action.ANALYTICS_READ},
    "analyst": {Action.ENTITY_READ, Action.ANALYTICS_READ, Action.INGEST_WRITE},
    "admin": {
        Action.ENTITY_READ,
        Action.ANALYTICS_READ,
        Action.INGEST_WRITE,
        Action.ADMIN_WRITE,
    },
}


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine()


# Hypothesis does not allow function-scoped fixtures in @given tests.
SHARED_ENGINE = PolicyEngine()


def tenant_key(tenant: str, *roles: str) -> Principal:
    return Principal(tenant_id=tenant, key_id=f"key-{tenant}", name="k", roles=roles)


OPERATOR = Principal(
    tenant_id=None, key_id="op", name="ops", roles=("platform-admin",), is_operator=True
)


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES, ACTIONS)))
def test_role_matrix_on_own_tenant(engine: PolicyEngine, role: str, action: Action) -> None:
    decision = engine.decide(tenant_key("acme", role), action, "entity", "acme")
    assert decision.allowed is (action in ALLOWED_BY_ROLE[role])


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES, ACTIONS)))
def test_null_resource_tenant_means_own_tenant(
    engine: PolicyEngine, role: str, action: Action
) -> None:
    principal = tenant_key("acme", role)
    assert engine.decide(principal, action, "entity", None) == engine.decide(
        principal, action, "entity", "acme"
    )


@pytest.mark.parametrize(
    ("roles", "action"),
    [
        (("viewer", "analyst"), Action.INGEST_WRITE),
        (("analyst", "viewer"), Action.INGEST_WRITE),
        (("viewer", "admin"), Action.ADMIN_WRITE),
        (("bogus", "analyst"), Action.INGEST_WRITE),
    ],
)
def test_several_roles_grant_the_union(
    engine: PolicyEngine, roles: tuple[str, ...], action: Action
) -> None:
    assert engine.decide(tenant_key("acme", *roles), action, "entity").allowed


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES, ACTIONS)))
def test_cross_tenant_is_denied_for_every_role_and_action(
    engine: PolicyEngine, role: str, action: Action
) -> None:
    decision = engine.decide(tenant_key("acme", role), action, "entity", "globex")
    assert not decision.allowed
    if action is not Action.TENANT_ADMIN:
        assert decision.reason == "resource belongs to another tenant"


def test_admin_of_all_roles_still_cannot_reach_another_tenant(engine: PolicyEngine) -> None:
    principal = tenant_key("acme", *ROLES)
    for action in ACTIONS:
        assert not engine.decide(principal, action, "entity", "globex").allowed


@pytest.mark.parametrize("resource_tenant", [None, "acme", "globex"])
def test_operator_may_administer_any_tenant(
    engine: PolicyEngine, resource_tenant: str | None
) -> None:
    for action in (Action.TENANT_ADMIN, Action.ADMIN_WRITE):
        assert engine.decide(OPERATOR, action, "tenant", resource_tenant).allowed
        engine.authorize(OPERATOR, action, "tenant", resource_tenant)


@pytest.mark.parametrize(
    ("action", "resource_tenant"), list(itertools.product(DATA_ACTIONS, [None, "acme"]))
)
def test_operator_may_not_touch_tenant_data(
    engine: PolicyEngine, action: Action, resource_tenant: str | None
) -> None:
    decision = engine.decide(OPERATOR, action, "entity", resource_tenant)
    assert not decision.allowed
    assert "operator" in decision.reason


@pytest.mark.parametrize("role", ROLES)
def test_tenant_admin_is_for_the_operator_only(engine: PolicyEngine, role: str) -> None:
    decision = engine.decide(tenant_key("acme", role), Action.TENANT_ADMIN, "tenant")
    assert not decision.allowed
    assert "operator" in decision.reason


def test_operator_flag_with_a_tenant_gets_nothing(engine: PolicyEngine) -> None:
    odd = Principal(tenant_id="acme", key_id="k", name="x", roles=("admin",), is_operator=True)
    for action in ACTIONS:
        assert not engine.decide(odd, action, "entity", "acme").allowed


def test_tenant_principal_without_tenant_gets_nothing(engine: PolicyEngine) -> None:
    orphan = Principal(tenant_id=None, key_id="k", name="x", roles=ROLES)
    for action in ACTIONS:
        assert not engine.decide(orphan, action, "entity", None).allowed


@pytest.mark.parametrize("roles", [(), ("superuser",)])
def test_principal_without_a_known_role_gets_nothing(
    engine: PolicyEngine, roles: tuple[str, ...]
) -> None:
    for action in ACTIONS:
        assert not engine.decide(tenant_key("acme", *roles), action, "entity").allowed


@pytest.mark.parametrize("action", ["entity.delete", "", "ENTITY.READ", 'x"y', "tenant.admin "])
def test_unknown_action_is_denied_not_a_crash(engine: PolicyEngine, action: str) -> None:
    for principal in (tenant_key("acme", *ROLES), OPERATOR):
        decision = engine.decide(principal, action, "entity")
        assert decision == Decision(allowed=False, reason="unknown action", hint=decision.hint)
        with pytest.raises(IntelGraphError) as caught:
            engine.authorize(principal, action, "entity")
        assert caught.value.error is POLICY_DENIED


def test_denial_names_the_action_and_why(engine: PolicyEngine) -> None:
    with pytest.raises(IntelGraphError) as caught:
        engine.authorize(tenant_key("acme", "viewer"), Action.INGEST_WRITE, "entity")
    err = caught.value
    assert err.error is POLICY_DENIED
    assert err.status == 403
    assert err.details == {"action": "ingest.write"}
    assert err.message.startswith("action ingest.write is denied: ")
    assert "role viewer may not ingest.write" in err.message
    assert "analyst" in err.message  # says which key would do


def test_cross_tenant_denial_says_so(engine: PolicyEngine) -> None:
    with pytest.raises(IntelGraphError) as caught:
        engine.authorize(tenant_key("acme", "admin"), Action.ENTITY_READ, "entity", "globex")
    assert "entity.read" in caught.value.message
    assert "another tenant" in caught.value.message


def test_allowed_action_authorizes_silently(engine: PolicyEngine) -> None:
    engine.authorize(tenant_key("acme", "analyst"), Action.INGEST_WRITE, "entity", "acme")


def test_action_names_and_plain_strings_decide_alike(engine: PolicyEngine) -> None:
    principal = tenant_key("acme", "viewer")
    for action in ACTIONS:
        assert engine.decide(principal, action, "entity") == engine.decide(
            principal, action.value, "entity"
        )


def _all_inputs() -> list[tuple[Principal, str, str, str | None]]:
    principals = [OPERATOR] + [
        tenant_key(tenant, *roles)
        for tenant in ("acme", "globex")
        for n in range(len(ROLES) + 1)
        for roles in itertools.combinations(ROLES, n)
    ]
    return [
        (principal, action, kind, resource_tenant)
        for principal in principals
        for action in [*ACTIONS, "entity.delete"]
        for kind in ("entity", "tenant")
        for resource_tenant in (None, "acme", "globex")
    ]


def test_cached_decisions_equal_uncached_ones() -> None:
    cached, uncached = PolicyEngine(), PolicyEngine(cache_size=0)
    inputs = _all_inputs()
    first = [cached.decide(*args) for args in inputs]
    again = [cached.decide(*args) for args in inputs]
    fresh = [uncached.decide(*args) for args in inputs]
    assert first == again == fresh


def test_a_tiny_cache_still_decides_correctly() -> None:
    tiny, uncached = PolicyEngine(cache_size=3), PolicyEngine(cache_size=0)
    inputs = _all_inputs()
    for args in inputs + inputs:
        assert tiny.decide(*args) == uncached.decide(*args)


def test_concurrent_decisions_agree_with_serial_ones() -> None:
    shared, reference = PolicyEngine(), PolicyEngine(cache_size=0)
    inputs = _all_inputs()
    expected = [reference.decide(*args) for args in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        rounds = [list(pool.map(lambda args: shared.decide(*args), inputs)) for _ in range(3)]
    assert all(got == expected for got in rounds)


def test_policy_that_does_not_compile_is_an_internal_error() -> None:
    with pytest.raises(IntelGraphError) as caught:
        PolicyEngine(source="package intelgraph.authz\n\nallow if {")
    assert caught.value.error is INTERNAL


def test_policy_without_a_decision_fails_closed_with_an_internal_error() -> None:
    engine = PolicyEngine(source="package intelgraph.authz\n\nimport rego.v1\n\nallow := true\n")
    with pytest.raises(IntelGraphError) as caught:
        engine.authorize(tenant_key("acme", "admin"), Action.ENTITY_READ, "entity")
    assert caught.value.error is INTERNAL


tenants = st.text(min_size=1, max_size=12)
role_sets = st.lists(st.sampled_from([*ROLES, "operator", "root"]), max_size=4).map(tuple)
any_action = st.one_of(st.sampled_from(ACTIONS), st.text(max_size=16))


@given(
    tenant=tenants,
    other=tenants,
    roles=role_sets,
    action=any_action,
    kind=st.sampled_from(["entity", "tenant", "api_key"]),
)
def test_a_tenant_principal_is_never_allowed_on_another_tenant(
    tenant: str, other: str, roles: tuple[str, ...], action: str, kind: str
) -> None:
    if tenant == other:
        other = other + "-other"
    decision = SHARED_ENGINE.decide(tenant_key(tenant, *roles), action, kind, other)
    assert not decision.allowed


@given(resource_tenant=st.one_of(st.none(), tenants), action=st.sampled_from(DATA_ACTIONS))
def test_the_operator_never_reads_or_writes_tenant_data(
    resource_tenant: str | None, action: Action
) -> None:
    assert not SHARED_ENGINE.decide(OPERATOR, action, "entity", resource_tenant).allowed
