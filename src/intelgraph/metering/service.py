"""The metering area's face: usage totals for a period, and ingest events in a transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine

from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.metering.ledger import add_usage, sum_usage
from intelgraph.metering.meters import Meter, UsageRow, minute_of
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine


class MeteringService:
    """Reads the durable usage ledger (billing, ``usage show``, the admin API)."""

    def __init__(self, engine: Engine, policy: PolicyEngine) -> None:
        self._engine = engine
        self._policy = policy

    def usage_for(
        self, principal: Principal, tenant_id: str, start: datetime, end: datetime
    ) -> dict[str, int]:
        """A tenant's totals for its admin or an operator (``usage_totals``'s figures).

        Raises POLICY_DENIED unless the principal may administer the tenant, VALIDATION
        when ``end`` is before ``start``.
        """
        self._policy.authorize(principal, Action.ADMIN_WRITE, "usage", tenant_id)
        return self.usage_totals(tenant_id, start, end)

    def usage_totals(self, tenant_id: str, start: datetime, end: datetime) -> dict[str, int]:
        """Totals of ``api_calls``, ``ingest_events`` and ``egress_bytes`` (0 when unused) over
        the UTC minutes starting in [start, end). Only flushed usage is counted. No policy:
        billing and reconciliation act for nobody (``usage_for`` is the guarded read).

        Raises VALIDATION when ``end`` is before ``start``.
        """
        if end < start:
            raise IntelGraphError(VALIDATION, "the period ends before it starts")
        with self._engine.connect() as conn:
            return sum_usage(conn, tenant_id, start, end)


def record_ingest_events(conn: Connection, tenant_id: str, count: int, at: datetime) -> None:
    """Add ``count`` stored records to the tenant's ingest_events at ``at``'s minute, inside
    the caller's transaction (so they commit, or roll back, with the records)."""
    if count > 0:
        add_usage(conn, [UsageRow(tenant_id, Meter.INGEST_EVENTS.value, minute_of(at), count)])
