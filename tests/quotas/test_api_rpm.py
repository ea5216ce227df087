"""api_rpm: every authenticated request costs 1 in a 60 s moving window."""

from __future__ import annotations

import re

from intelgraph.tenants.plans import EffectiveLimit, EffectiveLimits, LimitName
from quotas.conftest import StackFactory
from quotas.stack import limits, running


def test_requests_over_api_rpm_are_refused_with_429_retry_after_and_ratelimit_headers(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(limits(api_rpm=5))
    tenant = stack.tenant()
    with running(stack) as client:
        admitted = [client.get("/v1/things", headers={"x-tenant": tenant}) for _ in range(5)]
        refused = client.get("/v1/things", headers={"x-tenant": tenant})

    assert [r.status_code for r in admitted] == [200] * 5
    assert refused.status_code == 429
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "QUOTA_EXCEEDED"
    assert error["extensions"]["category"] == "RATE_LIMIT"
    assert error["extensions"]["retryable"] is True
    assert "api_rpm" in error["message"] and " 5 " in error["message"]
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert refused.headers["ratelimit-policy"] == '"api_rpm";q=5;w=60'
    assert refused.headers["ratelimit"] == f'"api_rpm";r=0;t={retry_after}'
    assert stack.sample("intelgraph_quota_rejections_total", tenant=tenant, reason="api_rpm") == 1


def test_admitted_responses_say_how_many_requests_remain(make_stack: StackFactory) -> None:
    stack = make_stack(limits(api_rpm=4))
    tenant = stack.tenant()
    with running(stack) as client:
        responses = [client.get("/v1/things", headers={"x-tenant": tenant}) for _ in range(4)]

    remaining = []
    for response in responses:
        assert '"api_rpm";q=4;w=60' in response.headers["ratelimit-policy"]
        found = re.search(r'"api_rpm";r=(\d+);t=(\d+)', response.headers["ratelimit"])
        assert found is not None
        remaining.append(int(found.group(1)))
        assert 0 <= int(found.group(2)) <= 60
    assert remaining == [3, 2, 1, 0]


def test_each_tenant_has_its_own_budget(make_stack: StackFactory) -> None:
    stack = make_stack(limits(api_rpm=2))
    first, second = stack.tenant(), stack.tenant()
    with running(stack) as client:
        for _ in range(2):
            assert client.get("/v1/things", headers={"x-tenant": first}).status_code == 200
        assert client.get("/v1/things", headers={"x-tenant": first}).status_code == 429
        assert client.get("/v1/things", headers={"x-tenant": second}).status_code == 200


def test_operator_and_public_requests_are_not_limited(make_stack: StackFactory) -> None:
    stack = make_stack(limits(api_rpm=1))
    with running(stack) as client:
        operator = [client.get("/v1/things", headers={"x-operator": "1"}) for _ in range(5)]
        public = [client.get("/healthz") for _ in range(5)]

    for response in operator + public:
        assert response.status_code == 200
        assert "ratelimit" not in response.headers
        assert "ratelimit-policy" not in response.headers


def test_a_changed_limit_applies_to_the_next_request_and_keeps_the_window(
    make_stack: StackFactory,
) -> None:
    current = {"api_rpm": 2}

    def limits_for(tenant_id: str) -> EffectiveLimits:
        return limits(api_rpm=current["api_rpm"])(tenant_id)

    stack = make_stack(limits_for)
    tenant = stack.tenant()
    with running(stack) as client:

        def status() -> int:
            return client.get("/v1/things", headers={"x-tenant": tenant}).status_code

        assert [status(), status(), status()] == [200, 200, 429]
        current["api_rpm"] = 4  # an override raises the limit: two more fit in this window
        assert [status(), status(), status()] == [200, 200, 429]
        current["api_rpm"] = 1  # lowered: the window already holds 4
        assert status() == 429


def test_the_message_names_the_effective_value_of_an_override(make_stack: StackFactory) -> None:
    def limits_for(tenant_id: str) -> EffectiveLimits:
        base = limits(api_rpm=100)(tenant_id)
        override = EffectiveLimit(LimitName.API_RPM, 1, "override:ovr_1")
        return EffectiveLimits(tenant_id, base.plan, base.limits | {LimitName.API_RPM: override})

    stack = make_stack(limits_for)
    tenant = stack.tenant()
    with running(stack) as client:
        client.get("/v1/things", headers={"x-tenant": tenant})
        refused = client.get("/v1/things", headers={"x-tenant": tenant})
    assert refused.status_code == 429
    assert "1 API requests per minute" in refused.json()["errors"][0]["message"]
