"""egress_gb_day: response bytes per UTC day; over the limit, refused until midnight."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from intelgraph.quotas.decisions import GIGABYTE
from quotas.conftest import StackFactory
from quotas.stack import START, limits, running


def _egress_remaining(header: str) -> int:
    found = re.search(r'"egress_gb_day";r=(\d+);t=(\d+)', header)
    assert found is not None, header
    return int(found.group(1))


def test_egress_counts_exactly_the_response_body_bytes(make_stack: StackFactory) -> None:
    stack = make_stack(limits(egress_gb_day=1))
    tenant = stack.tenant()
    with running(stack) as client:
        first = client.get("/v1/things?size=1234", headers={"x-tenant": tenant})
        streamed = client.get("/v1/stream?chunks=7", headers={"x-tenant": tenant})
        third = client.get("/v1/things", headers={"x-tenant": tenant})

    assert _egress_remaining(first.headers["ratelimit"]) == GIGABYTE
    sent = len(first.content) + len(streamed.content)
    assert _egress_remaining(third.headers["ratelimit"]) == GIGABYTE - sent
    assert (
        '"egress_gb_day";q=1000000000;w=86400;qu="content-bytes"'
        in (third.headers["ratelimit-policy"])
    )


def test_the_request_after_the_day_goes_over_is_refused_until_utc_midnight(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(limits(egress_gb_day=1))
    tenant = stack.tenant()
    stack.engine.add_egress(tenant, GIGABYTE - 100)  # earlier responses today
    with running(stack) as client:
        crossing = client.get("/v1/things?size=500", headers={"x-tenant": tenant})
        refused = client.get("/v1/things", headers={"x-tenant": tenant})
        stack.clock.advance(11 * 3600 + 59 * 60 + 58)  # 23:59:58 UTC
        still = client.get("/v1/things", headers={"x-tenant": tenant})
        stack.clock.advance(2)  # 00:00:00 UTC the next day
        next_day = client.get("/v1/things", headers={"x-tenant": tenant})

    assert crossing.status_code == 200  # bytes are counted after the response
    assert refused.status_code == 429
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "EGRESS_LIMIT_EXCEEDED"
    assert "egress_gb_day" in error["message"] and "1 GB" in error["message"]
    seconds_to_midnight = (datetime(2026, 3, 15, tzinfo=UTC) - START).total_seconds()
    assert refused.headers["retry-after"] == str(int(seconds_to_midnight))
    assert still.status_code == 429 and still.headers["retry-after"] == "2"
    assert next_day.status_code == 200
    assert _egress_remaining(next_day.headers["ratelimit"]) == GIGABYTE
    assert (
        stack.sample("intelgraph_quota_rejections_total", tenant=tenant, reason="egress_gb_day")
        == 2
    )


def test_egress_refusals_do_not_spend_api_rpm(make_stack: StackFactory) -> None:
    stack = make_stack(limits(egress_gb_day=1, api_rpm=3))
    tenant = stack.tenant()
    stack.engine.add_egress(tenant, GIGABYTE)
    with running(stack) as client:
        for _ in range(5):
            assert client.get("/v1/things", headers={"x-tenant": tenant}).status_code == 429
        stack.clock.advance(86_400)
        statuses = [
            client.get("/v1/things", headers={"x-tenant": tenant}).status_code for _ in range(4)
        ]
    assert statuses == [200, 200, 200, 429]
