"""Pausing and resuming a job is an operator's act: the jobs service asks policy itself."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from intelgraph.audit.service import list_records
from intelgraph.jobs.scheduler import JobSpec
from intelgraph.jobs.service import JobsService
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.errors import POLICY_DENIED, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.engine import PolicyEngine
from intelgraph.store import migrate
from intelgraph.store.engine import create_store_engine

AUDITOR = Principal(None, "k", "ann", ("auditor",), is_operator=True)
PLATFORM_ADMIN = Principal(None, "k2", "bob", ("platform-admin",), is_operator=True)
TENANT_ADMIN = Principal("t_one", "k3", "carol", ("admin",))
JOB = "er.nightly_eval"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_store_engine(database_url)
    migrate.upgrade_if_behind(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def jobs(engine: Engine) -> Iterator[JobsService]:
    clock = ManualClock(datetime(2026, 12, 7, 3, 0, tzinfo=UTC))
    service = JobsService(engine, clock, PolicyEngine(), lambda: [JobSpec(JOB, "daily 02:00")])
    yield service
    service.resume(JOB, PLATFORM_ADMIN, reason="leave the shared database as it was")


@pytest.mark.parametrize("principal", [AUDITOR, TENANT_ADMIN], ids=["auditor", "tenant-admin"])
def test_only_a_platform_admin_may_pause_or_resume_a_job(
    jobs: JobsService, principal: Principal
) -> None:
    for change in (jobs.pause, jobs.resume):
        with pytest.raises(IntelGraphError) as refused:
            change(JOB, principal, reason="looks noisy")
        assert refused.value.error is POLICY_DENIED
        assert "tenant.admin" in refused.value.message
    assert jobs.status(JOB).is_paused is False


def test_a_platform_admin_pauses_a_job_and_the_audit_log_names_them(
    engine: Engine, jobs: JobsService
) -> None:
    reason = f"ER drift incident {secrets.token_hex(4)}"
    paused = jobs.pause(JOB, PLATFORM_ADMIN, reason=reason)

    assert paused.is_paused and paused.paused_by == "operator:bob"
    (record,) = [r for r in list_records(engine, limit=1000) if r.reason == reason]
    assert (record.action, record.actor, record.target) == (
        "job.pause",
        "operator:bob",
        f"job:{JOB}",
    )
