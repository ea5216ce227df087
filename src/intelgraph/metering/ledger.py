"""The durable usage ledger: one row per tenant, meter and UTC minute, added to in batches.

``add_usage`` is an upsert that adds (``INSERT … ON CONFLICT DO UPDATE SET value = value +
excluded.value``) on SQLite and PostgreSQL alike. ``LedgerFlusher`` drains the in-memory
meters into it at least every second and once more on stop, so a killed process loses at
most the last interval of api_calls and egress_bytes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.expression import Executable

from intelgraph.metering.meters import Meter, UsageMeters, UsageRow
from intelgraph.obs.metrics import Metrics
from intelgraph.store.tables import usage_ledger

log = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 1.0
WARN_INTERVAL_SECONDS = 10.0


def add_usage(conn: Connection, rows: Sequence[UsageRow]) -> None:
    """Add each row's value to its (tenant, meter, minute) bucket, creating missing buckets.

    Rows must name distinct buckets; pass them sorted so concurrent writers lock in one order.
    """
    if not rows:
        return
    upsert = _upsert_add(conn.dialect.name)
    conn.execute(
        upsert,
        [
            {
                "tenant_id": row.tenant_id,
                "meter": row.meter,
                "bucket_start": _utc(row.bucket_start),
                "value": row.value,
            }
            for row in rows
        ],
    )


def _upsert_add(dialect: str) -> Executable:
    if dialect == "sqlite":
        stmt = sqlite.insert(usage_ledger)
        return stmt.on_conflict_do_update(
            index_elements=["tenant_id", "meter", "bucket_start"],
            set_={"value": usage_ledger.c.value + stmt.excluded.value},
        )
    if dialect == "postgresql":
        pg_stmt = postgresql.insert(usage_ledger)
        return pg_stmt.on_conflict_do_update(
            index_elements=["tenant_id", "meter", "bucket_start"],
            set_={"value": usage_ledger.c.value + pg_stmt.excluded.value},
        )
    raise ValueError(f"the usage ledger supports sqlite and postgresql, not {dialect}")


def sum_usage(conn: Connection, tenant_id: str, start: datetime, end: datetime) -> dict[str, int]:
    """Each meter's total over the buckets starting in [start, end); meters absent are 0."""
    found = conn.execute(
        select(usage_ledger.c.meter, func.sum(usage_ledger.c.value))
        .where(
            usage_ledger.c.tenant_id == tenant_id,
            usage_ledger.c.bucket_start >= _utc(start),
            usage_ledger.c.bucket_start < _utc(end),
        )
        .group_by(usage_ledger.c.meter)
    ).all()
    totals = {meter.value: 0 for meter in Meter}
    totals.update({meter: int(total or 0) for meter, total in found})
    return totals


def _utc(moment: datetime) -> datetime:
    # SQLite keeps datetimes as text without an offset: always hand it UTC.
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC)


class LedgerFlusher:
    """Moves buffered meters into the ledger every ``interval_seconds`` on a daemon thread."""

    def __init__(
        self,
        engine: Engine,
        meters: UsageMeters,
        metrics: Metrics,
        interval_seconds: float = FLUSH_INTERVAL_SECONDS,
    ) -> None:
        self._engine = engine
        self._meters = meters
        self._metrics = metrics
        self._interval = interval_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._flush_lock = threading.Lock()
        self._last_warning = float("-inf")

    @property
    def interval_seconds(self) -> float:
        """The longest the background thread waits between two flushes."""
        return self._interval

    def flush(self) -> int:
        """Write the buffered amounts in one transaction; returns the rows written.

        On a database error the rows go back to the buffer for the next flush (never raises).
        """
        with self._flush_lock:
            rows = self._meters.drain()
            if not rows:
                return 0
            try:
                with self._engine.begin() as conn:
                    add_usage(conn, rows)
            except SQLAlchemyError as exc:
                self._meters.restore(rows)
                self._metrics.usage_flush_errors.inc()
                now = time.monotonic()
                if now - self._last_warning >= WARN_INTERVAL_SECONDS:
                    self._last_warning = now
                    log.warning(
                        "usage ledger flush failed (%s); %d rows kept for the next flush",
                        type(exc).__name__,
                        len(rows),
                    )
                return 0
            return len(rows)

    def start(self) -> None:
        """Start flushing in the background (idempotent)."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="usage-ledger", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the background thread and flush what is left (graceful shutdown)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.flush()

    def _loop(self) -> None:
        wait = self._interval
        while not self._stopping.wait(wait):
            started = time.monotonic()
            try:
                self.flush()
            except Exception:  # keep metering whatever one flush hit
                log.exception("usage ledger flush failed unexpectedly")
            wait = max(0.0, self._interval - (time.monotonic() - started))
