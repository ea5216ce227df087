"""The in-memory side of metering: Prometheus counters and a buffer per UTC minute.

The buffer maps (tenant, meter, minute) to a value; the ledger flusher drains it into the
``usage_ledger`` table. Recording is a dict update under a lock: cheap enough for every
request on the event loop, and safe against the flusher's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from intelgraph.kernel.clock import Clock, epoch_seconds_of
from intelgraph.obs.metrics import Metrics


class Meter(StrEnum):
    API_CALLS = "api_calls"
    INGEST_EVENTS = "ingest_events"
    EGRESS_BYTES = "egress_bytes"


@dataclass(frozen=True, slots=True, order=True)
class UsageRow:
    """An amount of one meter for one tenant in the UTC minute starting at ``bucket_start``."""

    tenant_id: str
    meter: str
    bucket_start: datetime
    value: int


_BucketKey = tuple[str, str, int]  # tenant, meter, epoch second of the minute
# Meter names looked up once: an Enum's ``.value`` is a descriptor call on every request.
_API_CALLS = Meter.API_CALLS.value
_EGRESS_BYTES = Meter.EGRESS_BYTES.value


def minute_of(moment: datetime) -> datetime:
    """The start of ``moment``'s UTC minute (tz-aware)."""
    epoch = int(moment.timestamp()) // 60 * 60
    return datetime.fromtimestamp(epoch, UTC)


class UsageMeters:
    """Per-tenant meters: Prometheus counters now, ledger rows on the next flush."""

    def __init__(self, metrics: Metrics, clock: Clock) -> None:
        self._metrics = metrics
        self._clock = clock
        self._epoch_seconds = epoch_seconds_of(clock)
        self._buffer: dict[_BucketKey, int] = {}
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, str], Any] = {}
        self._request_counters: dict[str, tuple[Any, Any]] = {}

    def record_request(self, tenant_id: str, egress_bytes: int) -> None:
        """Meter one API request of the tenant and the body bytes of its response."""
        minute = int(self._epoch_seconds()) // 60 * 60
        calls_key = (tenant_id, _API_CALLS, minute)
        with self._lock:
            buffer = self._buffer
            buffer[calls_key] = buffer.get(calls_key, 0) + 1
            if egress_bytes:
                bytes_key = (tenant_id, _EGRESS_BYTES, minute)
                buffer[bytes_key] = buffer.get(bytes_key, 0) + egress_bytes
        counters = self._request_counters.get(tenant_id)
        if counters is None:
            counters = self._request_counters[tenant_id] = (
                self._counter(Meter.API_CALLS, tenant_id),
                self._counter(Meter.EGRESS_BYTES, tenant_id),
            )
        counters[0].inc()
        if egress_bytes:
            counters[1].inc(egress_bytes)

    def count_ingest_events(self, tenant_id: str, count: int) -> None:
        """Add committed ingest records to the Prometheus counter only: their ledger rows are
        written in the ingest's transaction (``metering.service.record_ingest_events``)."""
        if count > 0:
            self._counter(Meter.INGEST_EVENTS, tenant_id).inc(count)

    def drain(self) -> list[UsageRow]:
        """Take every buffered amount (sorted, so writers lock ledger rows in one order)."""
        with self._lock:
            taken, self._buffer = self._buffer, {}
        return sorted(
            UsageRow(tenant, meter, datetime.fromtimestamp(minute, UTC), value)
            for (tenant, meter, minute), value in taken.items()
        )

    def restore(self, rows: Iterable[UsageRow]) -> None:
        """Put drained rows back (their flush failed) to be written by the next one."""
        with self._lock:
            for row in rows:
                key = (row.tenant_id, row.meter, int(row.bucket_start.timestamp()))
                self._buffer[key] = self._buffer.get(key, 0) + row.value

    @property
    def pending_rows(self) -> int:
        """Buffered (tenant, meter, minute) amounts not yet in the ledger."""
        return len(self._buffer)

    def _counter(self, meter: Meter, tenant_id: str) -> Any:
        key = (meter.value, tenant_id)
        child = self._counters.get(key)
        if child is None:
            family = {
                Meter.API_CALLS: self._metrics.api_calls,
                Meter.EGRESS_BYTES: self._metrics.egress_bytes,
                Meter.INGEST_EVENTS: self._metrics.ingest_events,
            }[meter]
            child = self._counters[key] = family.labels(tenant_id)
        return child
