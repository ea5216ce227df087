"""One row of the daily usage export: the unit that exports sign and adapters deliver."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

EXPORT_COLUMNS: tuple[str, ...] = (
    "tenant_id",
    "period_start",
    "period_end",
    "api_calls",
    "ingest_events",
    "egress_gb",
    "plan",
    "quota_overrides",
    "signature",
)
"""The export's columns, in file order."""

BILLED_METERS: tuple[str, ...] = ("api_calls", "ingest_events", "egress_gb")
"""The meters an adapter sends, one event each per row."""


@dataclass(frozen=True, slots=True)
class UsageExportRow:
    """A tenant's usage for one UTC day, as exported, signed and billed.

    ``period_start``/``period_end`` are RFC 3339 UTC strings (half-open day);
    ``egress_gb`` is bytes / 10**9 quantised to 6 decimals; ``quota_overrides`` is the
    canonical JSON of the overrides in effect at period end (``{}`` when none);
    ``signature`` is ``ed25519:<kid>:<base64url>`` over :meth:`signed_bytes`.
    """

    tenant_id: str
    period_start: str
    period_end: str
    api_calls: int
    ingest_events: int
    egress_gb: Decimal
    plan: str
    quota_overrides: str
    signature: str

    def signed_fields(self) -> dict[str, Any]:
        """The eight fields the signature covers; egress_gb as its 6-decimal string."""
        return {
            "tenant_id": self.tenant_id,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "api_calls": self.api_calls,
            "ingest_events": self.ingest_events,
            "egress_gb": f"{self.egress_gb:.6f}",
            "plan": self.plan,
            "quota_overrides": self.quota_overrides,
        }

    def signed_bytes(self) -> bytes:
        """Canonical JSON (sorted keys, no spaces) of :meth:`signed_fields`."""
        return canonical_json(self.signed_fields())

    def meter_value(self, meter: str) -> Decimal:
        """The value an adapter bills for ``meter`` (one of :data:`BILLED_METERS`)."""
        if meter == "api_calls":
            return Decimal(self.api_calls)
        if meter == "ingest_events":
            return Decimal(self.ingest_events)
        if meter == "egress_gb":
            return self.egress_gb
        raise ValueError(f"unknown billed meter {meter!r}; expected one of {BILLED_METERS}")


def canonical_json(value: Any) -> bytes:
    """JSON with sorted keys and no insignificant whitespace."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
