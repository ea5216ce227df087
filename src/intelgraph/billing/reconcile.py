"""Usage reconciliation: does every place that counts a tenant's usage agree with the ledger?

The durable usage ledger is what billing is computed from, so it is the reference. For a
tenant and a period (a UTC day, or any minute-aligned period) each billed meter is compared
with up to three other sources:

- ``export``: the tenant's row of the signed daily export (``<export dir>/YYYY-MM-DD/``);
- ``adapter:<name>``: what each billing adapter confirmed, the sum of ``value`` over the
  tenant's ``sent`` outbox deliveries of that day;
- ``prometheus``: how much the tenant's counter grew, read from a real Prometheus.

A source within 1 % of the ledger is ``ok``; above it is a ``mismatch``: stored, logged at
WARNING and exported as ``intelgraph_recon_delta_ratio{tenant,meter,source}`` (the alert in
``deploy/prometheus/billing_alerts.yml`` fires on it). A source that cannot answer yet (no
export, no delivery, deliveries still pending, Prometheus unreachable or not configured) is
``unavailable`` with a message saying why: that is a gap to close, not a billing error.
Differences smaller than a source's rounding (egress is exported in GB with 6 decimals) count
as zero, so a tenant with a few kilobytes of egress is not a mismatch.

How the Prometheus number is computed, and why not with ``increase()``. PromQL's
``increase(c[1d])`` extrapolates the growth it sees between the first and last sample in the
window out to the window's edges, and it ignores whatever a series counted before its first
sample. A tenant's counter is born at its first request in a process, so for a short period
or a new tenant it loses that first scrape's worth, and the edges add or remove up to a scrape
interval of average traffic each. Instead we ask Prometheus (``/api/v1/query`` at the period
end) for the raw samples of the period plus a five-minute lookback (Prometheus' staleness
window) and do the counter arithmetic exactly:

- the baseline of a series is its last sample at or before the period start; a series with
  no sample in the lookback started during the period, from zero;
- growth is the sum of the differences of consecutive samples, where a drop means the process
  restarted and its counter began again from zero (the same reset rule as ``increase()``);
- no extrapolation: traffic between the last scrape before an edge and the edge is counted
  in the neighbouring period, so consecutive periods add up exactly.

What remains: usage counted after a process' last scrape before it died is never seen by
Prometheus (a graceful stop loses at most one scrape interval; the ledger flushes on stop);
a restarted counter that overtakes its old value before its first scrape hides its reset.
Both read low by at most one scrape interval of traffic: far inside 1 % of a day. The cost
is about 5,800 samples per series and day at a 15 s scrape interval, queried per tenant.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.billing import reconcile_queries as queries
from intelgraph.billing.exports import csv_name, period_of
from intelgraph.billing.usage_rows import BILLED_METERS
from intelgraph.kernel.clock import Clock, isoformat
from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.metering.service import MeteringService
from intelgraph.obs.metrics import Metrics
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine

log = logging.getLogger(__name__)

RECONCILE_JOB = "billing.reconcile"
TOLERANCE = 0.01
"""Largest delta ratio |source - ledger| / ledger that is still ``ok``."""
BYTES_PER_GB = Decimal(10**9)
EXPORT_RESOLUTION = Decimal("0.000001")  # egress_gb has 6 decimals in exports and deliveries
PROMETHEUS_LOOKBACK = timedelta(minutes=5)  # Prometheus' default staleness window
PROMETHEUS_TIMEOUT_SECONDS = 10.0
RESOURCE = "usage_reconciliation"

LEDGER_METERS: Mapping[str, str] = {
    "api_calls": "api_calls",
    "ingest_events": "ingest_events",
    "egress_gb": "egress_bytes",
}
"""Billed meter -> the ledger meter it is computed from."""
PROMETHEUS_COUNTERS: Mapping[str, str] = {
    "api_calls": "intelgraph_api_calls_total",
    "ingest_events": "intelgraph_ingest_events_total",
    "egress_gb": "intelgraph_egress_bytes_total",
}
"""Billed meter -> the Prometheus counter (obs/metrics.py) that counts it."""


class CheckStatus(StrEnum):
    OK = "ok"
    MISMATCH = "mismatch"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Reading:
    """What one source says about one meter: a value, or (value None) why it cannot say.

    ``resolution`` is the smallest step the source can express; differences below half of
    it are rounding, not disagreement.
    """

    value: Decimal | None
    detail: str = ""
    resolution: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class SourceCheck:
    """One source compared with the ledger for one meter."""

    meter: str
    source: str
    status: CheckStatus
    ledger: Decimal
    value: Decimal | None
    delta_ratio: float | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "meter": self.meter,
            "source": self.source,
            "status": self.status.value,
            "ledger": str(self.ledger),
            "value": None if self.value is None else str(self.value),
            "delta_ratio": self.delta_ratio,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Reconciliation:
    """Every check of one tenant over one period."""

    tenant_id: str
    period_start: datetime
    period_end: datetime
    checked_at: datetime
    checks: list[SourceCheck] = field(default_factory=list)

    @property
    def mismatches(self) -> list[SourceCheck]:
        return [c for c in self.checks if c.status is CheckStatus.MISMATCH]

    @property
    def unavailable(self) -> list[SourceCheck]:
        return [c for c in self.checks if c.status is CheckStatus.UNAVAILABLE]

    @property
    def is_consistent(self) -> bool:
        """No source that answered disagrees with the ledger by more than 1 %."""
        return not self.mismatches

    def check(self, meter: str, source: str) -> SourceCheck:
        """The check of ``source`` for ``meter``. Raises KeyError when there is none."""
        for found in self.checks:
            if found.meter == meter and found.source == source:
                return found
        raise KeyError(f"no check of {source} for {meter}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "period_start": isoformat(self.period_start),
            "period_end": isoformat(self.period_end),
            "checked_at": isoformat(self.checked_at),
            "status": CheckStatus.OK.value if self.is_consistent else CheckStatus.MISMATCH.value,
            "checks": [c.as_dict() for c in self.checks],
        }


def compare(meter: str, source: str, ledger: Decimal, reading: Reading) -> SourceCheck:
    """Check one reading against the ledger value of its meter."""
    if reading.value is None:
        return SourceCheck(
            meter, source, CheckStatus.UNAVAILABLE, ledger, None, None, reading.detail
        )
    gap = max(Decimal(0), abs(reading.value - ledger) - reading.resolution / 2)
    # Against an empty ledger any usage is a whole ledger's worth off: ratio 1.
    ratio = float(gap / ledger) if ledger else (0.0 if gap == 0 else 1.0)
    if ratio <= TOLERANCE:
        return SourceCheck(
            meter, source, CheckStatus.OK, ledger, reading.value, ratio, reading.detail
        )
    detail = f"{source} has {reading.value}, the ledger {ledger} ({ratio:.2%} apart)"
    if reading.detail:
        detail = f"{detail}; {reading.detail}"
    return SourceCheck(meter, source, CheckStatus.MISMATCH, ledger, reading.value, ratio, detail)


def counter_increase(
    samples: Iterable[tuple[float, Decimal]], start: datetime, end: datetime
) -> Decimal:
    """How much one counter series grew between ``start`` and ``end``, from its raw samples
    (Unix seconds, value), without extrapolation; a drop is a restart from zero.

    The baseline is the last sample at or before ``start``; with none, the series began in
    the period and its first sample counts whole.
    """
    begin, finish = start.timestamp(), end.timestamp()
    previous = Decimal(0)
    growth = Decimal(0)
    for moment, value in sorted(samples):
        if moment <= begin:
            previous = value
            continue
        if moment > finish:
            break
        growth += value if value < previous else value - previous
        previous = value
    return growth


class PrometheusUnavailable(Exception):
    """Prometheus could not answer; the message says why, for the report."""


class PrometheusCounters:
    """Reads the usage counters' raw samples from a Prometheus server's HTTP API."""

    def __init__(self, url: str, timeout_seconds: float = PROMETHEUS_TIMEOUT_SECONDS) -> None:
        self._url = url.rstrip("/")
        self._timeout = timeout_seconds

    @property
    def url(self) -> str:
        return self._url

    def growth(self, tenant_id: str, start: datetime, end: datetime) -> dict[str, Reading]:
        """Each billed meter's counter growth for the tenant over [start, end), summed over
        every series (one per scraped replica); egress in GB. Never raises: a Prometheus
        that cannot answer makes every meter unavailable, saying why."""
        try:
            with httpx.Client(base_url=self._url, timeout=self._timeout) as client:
                readings: dict[str, Reading] = {}
                for meter, counter in PROMETHEUS_COUNTERS.items():
                    series = self.raw_samples(client, counter, tenant_id, start, end)
                    total = sum(
                        (counter_increase(samples, start, end) for samples in series), Decimal(0)
                    )
                    detail = "" if series else f"no {counter} samples for the tenant"
                    readings[meter] = Reading(_billed_value(meter, total), detail)
                return readings
        except PrometheusUnavailable as exc:
            return {meter: Reading(None, str(exc)) for meter in BILLED_METERS}

    def raw_samples(
        self, client: httpx.Client, counter: str, tenant_id: str, start: datetime, end: datetime
    ) -> list[list[tuple[float, Decimal]]]:
        """The samples of every ``counter{tenant=…}`` series from the lookback before
        ``start`` to ``end`` (an instant query of a range selector, evaluated at ``end``).

        Raises PrometheusUnavailable when the server is unreachable or refuses the query.
        """
        seconds = int((end - start + PROMETHEUS_LOOKBACK).total_seconds())
        query = f'{counter}{{tenant="{_promql_string(tenant_id)}"}}[{seconds}s]'
        try:
            response = client.get(
                "/api/v1/query", params={"query": query, "time": f"{end.timestamp():.3f}"}
            )
        except httpx.HTTPError as exc:
            raise PrometheusUnavailable(
                f"Prometheus at {self._url} is unreachable ({type(exc).__name__}); "
                "check INTELGRAPH_PROMETHEUS_URL and that the server is up"
            ) from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise PrometheusUnavailable(
                f"Prometheus at {self._url} answered HTTP {response.status_code} without JSON; "
                "is INTELGRAPH_PROMETHEUS_URL the server's base URL?"
            ) from exc
        if not isinstance(body, dict) or body.get("status") != "success":
            reason = body.get("error", "no reason given") if isinstance(body, dict) else body
            raise PrometheusUnavailable(
                f"Prometheus at {self._url} refused the query {query!r} "
                f"(HTTP {response.status_code}: {reason})"
            )
        data = body.get("data") or {}
        if data.get("resultType") != "matrix":
            raise PrometheusUnavailable(
                f"Prometheus at {self._url} answered a {data.get('resultType')!r} to a range "
                "selector; expected a matrix"
            )
        return [
            [(float(moment), _decimal(value)) for moment, value in series.get("values", [])]
            for series in data.get("result", [])
        ]


class Reconciler:
    """Compares the ledger with the export, the adapters' receipts and Prometheus; stores
    each check and keeps ``intelgraph_recon_delta_ratio`` in step with the stored checks.

    Operators' calls take the principal and ask policy for ``billing.admin``; the
    scheduler's (``reconcile_scheduled``, ``reconcile_previous_day``, ``refresh_gauges``)
    act for nobody and ask none.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        metering: MeteringService,
        metrics: Metrics,
        *,
        export_dir: Path,
        adapter_names: Sequence[str],
        prometheus_url: str | None,
        tenant_ids: Callable[[], list[str]],
        policy: PolicyEngine,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._policy = policy
        self._uow = UnitOfWorkFactory(engine, clock)
        self._metering = metering
        self._metrics = metrics
        self._export_dir = export_dir
        self._adapter_names = tuple(adapter_names)
        self._prometheus = PrometheusCounters(prometheus_url) if prometheus_url else None
        self._tenant_ids = tenant_ids
        self._gauge_labels: set[tuple[str, str, str]] = set()

    def reconcile(self, tenant_id: str, day: date, principal: Principal) -> Reconciliation:
        """Reconcile the tenant's UTC day (it may still be running: then usage so far).

        Never raises for a source that cannot answer; it is reported unavailable. Raises
        POLICY_DENIED unless the principal administers billing.
        """
        self._authorize(principal, tenant_id)
        start, end = period_of(day)
        return self._reconcile_period(tenant_id, start, end)

    def reconcile_period(
        self, tenant_id: str, start: datetime, end: datetime, principal: Principal
    ) -> Reconciliation:
        """Reconcile the tenant over [start, end), both whole UTC minutes (the ledger's
        bucket). Exports and adapter receipts exist per UTC day only, so for any other
        period they are reported unavailable. Replaces earlier checks of the same period.

        Raises POLICY_DENIED unless the principal administers billing; VALIDATION for a
        period that is not minute-aligned, tz-aware and non-empty.
        """
        self._authorize(principal, tenant_id)
        return self._reconcile_period(tenant_id, start, end)

    def _authorize(self, principal: Principal, tenant_id: str | None) -> None:
        self._policy.authorize(principal, Action.BILLING_ADMIN, RESOURCE, tenant_id)

    def _reconcile_period(self, tenant_id: str, start: datetime, end: datetime) -> Reconciliation:
        start, end = _utc_period(start, end)
        day = _whole_day(start, end)
        # 1. What the database says, in short reads that are closed before anything slow.
        totals = self._metering.usage_totals(tenant_id, start, end)
        ledger = {
            meter: _billed_value(meter, Decimal(totals.get(LEDGER_METERS[meter], 0)))
            for meter in BILLED_METERS
        }
        receipts = None if day is None else self._adapter_readings(tenant_id, start, end)
        # 2. Files and Prometheus, with no transaction open (a query may take seconds).
        sources: dict[str, dict[str, Reading]] = {}
        if day is None or receipts is None:
            why = "exports and adapter receipts cover whole UTC days; this period is not one"
            sources["export"] = _unavailable(why)
            sources["adapters"] = _unavailable(why)
        else:
            sources["export"] = self._export_readings(tenant_id, day)
            sources.update(receipts)
        sources["prometheus"] = self._prometheus_readings(tenant_id, start, end)
        # 3. The checks, written in a transaction of their own.
        result = Reconciliation(
            tenant_id,
            start,
            end,
            self._clock.now(),
            [
                compare(meter, source, ledger[meter], readings[meter])
                for source, readings in sources.items()
                for meter in BILLED_METERS
            ],
        )
        self._store(result)
        for check in result.mismatches:
            log.warning(
                "usage reconciliation mismatch: tenant %s %s %s",
                tenant_id,
                check.meter,
                check.detail,
                extra={
                    "tenant_id": tenant_id,
                    "meter": check.meter,
                    "source": check.source,
                    "period_start": isoformat(start),
                    "period_end": isoformat(end),
                    "delta_ratio": check.delta_ratio,
                },
            )
        self.refresh_gauges([tenant_id])
        return result

    def reconcile_day(
        self,
        day: date,
        principal: Principal,
        on_tenant: Callable[[int, int], None] | None = None,
    ) -> list[Reconciliation]:
        """Reconcile every tenant's ``day``; ``on_tenant(done, total)`` after each.

        Raises POLICY_DENIED unless the principal administers billing.
        """
        self._authorize(principal, None)
        return self._reconcile_day(day, on_tenant)

    def _reconcile_day(
        self, day: date, on_tenant: Callable[[int, int], None] | None = None
    ) -> list[Reconciliation]:
        tenant_ids = self._tenant_ids()
        start, end = period_of(day)
        results = []
        for done, tenant_id in enumerate(tenant_ids, start=1):
            results.append(self._reconcile_period(tenant_id, start, end))
            if on_tenant is not None:
                on_tenant(done, len(tenant_ids))
        return results

    def reconcile_previous_day(self) -> int:
        """Reconcile yesterday (UTC) for every tenant, for nobody (asks no policy); returns
        the mismatches found."""
        return self.reconcile_scheduled((self._clock.now() - timedelta(days=1)).date())

    def reconcile_scheduled(self, day: date) -> int:
        """The scheduled job (RECONCILE_JOB): reconcile ``day`` for every tenant; returns the
        mismatches found. One replica runs it: the scheduler's job lock (jobs/locks.py), which
        holds no transaction, so none is open while Prometheus is asked. Acts for nobody:
        asks no policy."""
        results = self._reconcile_day(day)
        found = sum(len(r.mismatches) for r in results)
        log.info(
            "usage reconciliation done",
            extra={"day": day.isoformat(), "tenants": len(results), "mismatches": found},
        )
        return found

    def stored(
        self, tenant_id: str, start: datetime, end: datetime, principal: Principal
    ) -> Reconciliation | None:
        """The stored checks of the tenant's period, or None if it was never reconciled.

        Raises POLICY_DENIED unless the principal administers billing.
        """
        self._authorize(principal, tenant_id)
        with self._engine.connect() as conn:
            rows = queries.stored_checks(conn, tenant_id, start, end)
        if not rows:
            return None
        return Reconciliation(
            tenant_id,
            start.astimezone(UTC),
            end.astimezone(UTC),
            _aware(max(row.checked_at for row in rows)),
            [_check_of(row) for row in rows],
        )

    def refresh_gauges(self, tenant_ids: Sequence[str] | None = None) -> int:
        """Set ``intelgraph_recon_delta_ratio`` from each tenant's latest reconciled period
        in the store (so every replica exports it, whoever ran the job); returns the series
        set. Sources unavailable in that period have no series. A scheduled job (for
        nobody): asks no policy."""
        with self._engine.connect() as conn:
            rows = queries.latest_ratios(conn, tenant_ids)
        gauge = self._metrics.recon_delta_ratio
        wanted: dict[tuple[str, str, str], float] = {
            (tenant_id, meter, source): float(ratio)
            for tenant_id, meter, source, ratio in rows
            if ratio is not None
        }
        in_scope = set(tenant_ids) if tenant_ids is not None else None
        for labels in list(self._gauge_labels):
            if labels not in wanted and (in_scope is None or labels[0] in in_scope):
                gauge.remove(*labels)
                self._gauge_labels.discard(labels)
        for labels, ratio in wanted.items():
            gauge.labels(*labels).set(ratio)
            self._gauge_labels.add(labels)
        return len(wanted)

    # --- sources --------------------------------------------------------------------------

    def _export_readings(self, tenant_id: str, day: date) -> dict[str, Reading]:
        path = self._export_dir / day.isoformat() / csv_name(day)
        if not path.exists():
            return _unavailable(
                f"no export of {day.isoformat()} in {self._export_dir} yet "
                f"(intelgraph export usage --date {day.isoformat()})"
            )
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                row = next((r for r in csv.DictReader(handle) if r["tenant_id"] == tenant_id), None)
            if row is None:
                return {
                    meter: Reading(Decimal(0), f"the export {path.name} has no row for the tenant")
                    for meter in BILLED_METERS
                }
            return {
                "api_calls": Reading(_decimal(row["api_calls"])),
                "ingest_events": Reading(_decimal(row["ingest_events"])),
                "egress_gb": Reading(_decimal(row["egress_gb"]), resolution=EXPORT_RESOLUTION),
            }
        except (OSError, KeyError, ValueError, InvalidOperation) as exc:
            return _unavailable(f"cannot read {path}: {type(exc).__name__} ({exc})")

    def _adapter_readings(
        self, tenant_id: str, start: datetime, end: datetime
    ) -> dict[str, dict[str, Reading]]:
        with self._engine.connect() as conn:
            groups = queries.receipts(conn, tenant_id, start, end)
        counts: dict[tuple[str, str], dict[str, int]] = {}
        sent: dict[tuple[str, str], Decimal] = {}
        for group in groups:
            counts.setdefault((group.adapter, group.meter), {})[group.state] = group.count
            if group.state == "sent":
                sent[(group.adapter, group.meter)] = _decimal(group.total)
        adapters = list(dict.fromkeys([*self._adapter_names, *(a for a, _ in counts)]))
        if not adapters:
            return {
                "adapters": _unavailable(
                    "no billing adapter is enabled (INTELGRAPH_BILLING_ADAPTERS) and none "
                    "delivered this day"
                )
            }
        readings: dict[str, dict[str, Reading]] = {}
        for adapter in adapters:
            per_meter: dict[str, Reading] = {}
            for meter in BILLED_METERS:
                states = counts.get((adapter, meter), {})
                waiting = states.get("pending", 0) + states.get("failed", 0)
                if not states:
                    per_meter[meter] = Reading(
                        None,
                        f"no {adapter} delivery of this day yet (was the export pushed? "
                        "intelgraph billing status)",
                    )
                elif waiting:
                    per_meter[meter] = Reading(
                        None,
                        f"{waiting} {adapter} deliveries still pending or retrying (a live "
                        "toggle may be off); receipts are incomplete",
                    )
                else:
                    dead = states.get("dead", 0)
                    per_meter[meter] = Reading(
                        sent.get((adapter, meter), Decimal(0)),
                        f"{dead} dead deliveries were never billed" if dead else "",
                        EXPORT_RESOLUTION if meter == "egress_gb" else Decimal(0),
                    )
            readings[f"adapter:{adapter}"] = per_meter
        return readings

    def _prometheus_readings(
        self, tenant_id: str, start: datetime, end: datetime
    ) -> dict[str, Reading]:
        if self._prometheus is None:
            return _unavailable("INTELGRAPH_PROMETHEUS_URL is not set; no Prometheus to ask")
        return self._prometheus.growth(tenant_id, start, end)

    # --- storage --------------------------------------------------------------------------

    def _store(self, result: Reconciliation) -> None:
        with self._uow() as uow:
            queries.replace_checks(
                uow.conn,
                tenant_id=result.tenant_id,
                period_start=result.period_start,
                period_end=result.period_end,
                checked_at=result.checked_at,
                checks=[
                    queries.CheckToStore(
                        check.meter,
                        check.source,
                        check.status.value,
                        check.ledger,
                        check.value,
                        check.delta_ratio,
                        check.detail,
                    )
                    for check in result.checks
                ],
            )
            uow.commit()


def _utc_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    if start.tzinfo is None or end.tzinfo is None:
        raise IntelGraphError(VALIDATION, "give the period with a timezone, e.g. 2026-11-20T00:00Z")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    for edge in (start, end):
        if edge.second or edge.microsecond:
            raise IntelGraphError(
                VALIDATION,
                f"{isoformat(edge)} is not a whole minute; the ledger counts per UTC minute",
            )
    if end <= start:
        raise IntelGraphError(VALIDATION, "the period must end after it starts")
    return start, end


def _whole_day(start: datetime, end: datetime) -> date | None:
    is_midnight = start.hour == 0 and start.minute == 0
    return start.date() if is_midnight and end - start == timedelta(days=1) else None


def _unavailable(detail: str) -> dict[str, Reading]:
    return {meter: Reading(None, detail) for meter in BILLED_METERS}


def _billed_value(meter: str, amount: Decimal) -> Decimal:
    return amount / BYTES_PER_GB if meter == "egress_gb" else amount


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _promql_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _aware(moment: datetime) -> datetime:
    # SQLite gives back naive datetimes (stored as UTC).
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _check_of(row: queries.StoredCheck) -> SourceCheck:
    return SourceCheck(
        row.meter,
        row.source,
        CheckStatus(row.status),
        _decimal(row.ledger_value),
        None if row.source_value is None else _decimal(row.source_value),
        row.delta_ratio,
        row.detail,
    )
