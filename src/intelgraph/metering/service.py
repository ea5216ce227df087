"""The metering area's face: usage totals for a period, and ingest events in a transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine

from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.metering.ledger import add_usage, sum_usage
from intelgraph.metering.meters import Meter, UsageRow, minute_of


class MeteringService:
    """Reads the durable usage ledger (billing, ``usage show``, the admin API)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def usage_totals(self, tenant_id: str, start: datetime, end: datetime) -> dict[str, int]:
        """Totals of ``api_calls``, ``ingest_events`` and ``egress_bytes`` (0 when unused) over
        the UTC minutes starting in [start, end). Only flushed usage is counted.

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
