"""While the quota backend cannot answer, no RateLimit header claims an allowance nobody
checked: a degraded (fail-open) decision is left out of ``RateLimit`` and
``RateLimit-Policy``; limits that were checked are still reported.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from conftest import NDJSON, person
from intelgraph.app import create_app
from intelgraph.bootstrap import start_services
from intelgraph.quotas.decisions import QuotaDecision
from intelgraph.settings import Settings
from intelgraph.tenants.plans import LimitName
from quotas.stack import REDIS_URL

CLOSED_PORT = "redis://127.0.0.1:1/0"
OPERATOR = {"Authorization": "Bearer igo_test_operator_key"}


def test_a_degraded_decision_reports_no_rate_limit_headers() -> None:
    unchecked = QuotaDecision(LimitName.INGEST_EPS, True, 10, 10, 0, cost=3, is_degraded=True)
    checked = unchecked._replace(is_degraded=False, remaining=7, reset_seconds=1)

    assert unchecked.headers() == {}
    assert checked.headers() == {
        "RateLimit-Policy": '"ingest_eps";q=10;w=1',
        "RateLimit": '"ingest_eps";r=7;t=1',
    }


@contextmanager
def replica(database_url: str, data_dir: Path, quota_redis_url: str) -> Iterator[TestClient]:
    """One API process on the shared database, its quotas on ``quota_redis_url`` (the edge
    cache stays on the live Redis, so only the quota backend is cut)."""
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        operator_key="igo_test_operator_key",
        run_background_jobs=False,
        redis_url=quota_redis_url,
        cache_redis_url=REDIS_URL,
    )
    with TestClient(create_app(services=start_services(settings))) as client:
        yield client


def ingest(client: TestClient, key: str, external_id: str) -> tuple[str, str]:
    """``RateLimit`` and ``RateLimit-Policy`` of an accepted ingest."""
    response = client.post(
        "/v1/ingest",
        content=orjson.dumps(person(external_id, "Ada Lovelace")),
        headers={"Authorization": f"Bearer {key}"} | NDJSON,
    )
    assert response.status_code == 200, response.text
    return response.headers.get("ratelimit", ""), response.headers.get("ratelimit-policy", "")


@pytest.mark.usefixtures("redis_up")
def test_a_replica_that_cannot_reach_redis_claims_no_ingest_or_request_allowance(
    database_url: str, tmp_path: Path
) -> None:
    with (
        replica(database_url, tmp_path / "data", REDIS_URL) as healthy,
        replica(database_url, tmp_path / "data", CLOSED_PORT) as cut_off,
    ):
        created = healthy.post(
            "/v1/admin/tenants",
            json={"name": "Degraded", "slug": f"deg-{secrets.token_hex(4)}", "plan": "standard"},
            headers=OPERATOR,
        )
        assert created.status_code == 201, created.text
        key = created.json()["apiKey"]

        state, policy = ingest(healthy, key, "ada")
        assert '"ingest_eps"' in state and '"api_rpm"' in state  # checked, so reported
        assert '"ingest_eps"' in policy and '"api_rpm"' in policy

        state, policy = ingest(cut_off, key, "ada-2")
        for unchecked in ('"ingest_eps"', '"api_rpm"'):
            assert unchecked not in state
            assert unchecked not in policy
        # egress_gb_day is counted on the replica itself, so it is still known and reported.
        assert '"egress_gb_day"' in state and '"egress_gb_day"' in policy
