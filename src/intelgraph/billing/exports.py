"""The signed daily usage export: one row per tenant per UTC day, as CSV, Parquet and a manifest.

A day's export is a directory ``<export dir>/YYYY-MM-DD/`` holding ``usage-YYYY-MM-DD.csv``,
``usage-YYYY-MM-DD.parquet`` and ``manifest.json`` (a DSSE envelope of an in-toto Statement
naming both files by sha256). Every row carries its own Ed25519 signature, so a row handed
to a billing system on its own can still be checked.

The directory is written under a temporary sibling name, fsynced, and renamed into place:
a crash leaves either the previous export or none, never a half-written one that looks
complete. Rows repeat exactly when a day is exported again (same ledger, same key: Ed25519
signatures are deterministic).
"""

from __future__ import annotations

import base64
import contextlib
import csv
import dataclasses
import hashlib
import logging
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection, Engine

from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.billing import export_repository as repo
from intelgraph.billing.usage_rows import EXPORT_COLUMNS, UsageExportRow, canonical_json
from intelgraph.crypto.dsse import IN_TOTO_PAYLOAD_TYPE, sign_envelope, statement
from intelgraph.crypto.keyring import Keyring, b64url
from intelgraph.kernel.clock import Clock, isoformat
from intelgraph.kernel.errors import EXPORT_NOT_FOUND, VALIDATION, IntelGraphError
from intelgraph.kernel.private_files import make_private_dir, private_opener
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine
from intelgraph.store.locks import try_job_lock

log = logging.getLogger(__name__)

EXPORT_JOB = "billing.usage_export"
SCHEDULER_ACTOR = "system:scheduler"  # who scheduled exports are recorded as
RESOURCE = "usage_export"
MANIFEST_NAME = "manifest.json"
PREDICATE_TYPE = "https://intelgraph.dev/attestations/usage-export/v1"
SIGNATURE_SCHEME = "ed25519"
LEDGER_METERS = ("api_calls", "ingest_events", "egress_bytes")
BYTES_PER_GB = Decimal(10**9)
SIX_DECIMALS = Decimal("0.000001")
EXPORT_STEPS = (
    "reading usage",
    "signing rows",
    "writing CSV",
    "writing Parquet",
    "signing manifest",
    "publishing",
)
"""The steps of :meth:`UsageExporter.export`, in order (for progress bars)."""

_UTC_MICROS = pa.timestamp("us", tz="UTC")
PARQUET_SCHEMA = pa.schema(
    [
        pa.field("tenant_id", pa.string(), nullable=False),
        pa.field("period_start", _UTC_MICROS, nullable=False),
        pa.field("period_end", _UTC_MICROS, nullable=False),
        pa.field("api_calls", pa.int64(), nullable=False),
        pa.field("ingest_events", pa.int64(), nullable=False),
        pa.field("egress_gb", pa.decimal128(20, 6), nullable=False),
        pa.field("plan", pa.string(), nullable=False),
        pa.field("quota_overrides", pa.string(), nullable=False),
        pa.field("signature", pa.string(), nullable=False),
    ]
)
"""The Parquet file's explicit schema; column names and order are :data:`EXPORT_COLUMNS`."""

_DAY_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LEFTOVER_AGE_SECONDS = 3600.0

ExportListener = Callable[[date, list[UsageExportRow]], None]
"""Called with the day and its rows after an export is in place."""
StepListener = Callable[[str], None]
"""Called with the name of each step of an export as it starts."""


def csv_name(day: date) -> str:
    return f"usage-{day.isoformat()}.csv"


def parquet_name(day: date) -> str:
    return f"usage-{day.isoformat()}.parquet"


def export_file_names(day: date) -> tuple[str, str, str]:
    """The three files of a day's export: CSV, Parquet, manifest."""
    return csv_name(day), parquet_name(day), MANIFEST_NAME


def period_of(day: date) -> tuple[datetime, datetime]:
    """The half-open UTC day [00:00, next 00:00)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def parse_day(text: str) -> date:
    """A ``YYYY-MM-DD`` date. Raises VALIDATION naming the expected form."""
    if _DAY_PATTERN.match(text):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text)
    raise IntelGraphError(VALIDATION, f"{text!r} is not a day; use YYYY-MM-DD, e.g. 2026-11-20")


def egress_gb(egress_bytes: int) -> Decimal:
    """Bytes as decimal gigabytes (10**9), rounded half up to 6 decimals."""
    return (Decimal(egress_bytes) / BYTES_PER_GB).quantize(SIX_DECIMALS, rounding=ROUND_HALF_UP)


def format_signature(kid: str, signature: bytes) -> str:
    return f"{SIGNATURE_SCHEME}:{kid}:{b64url(signature)}"


def csv_cells(row: UsageExportRow) -> list[str]:
    """A row as the CSV writes it (egress with exactly 6 decimals)."""
    return [
        row.tenant_id,
        row.period_start,
        row.period_end,
        str(row.api_calls),
        str(row.ingest_events),
        f"{row.egress_gb:.6f}",
        row.plan,
        row.quota_overrides,
        row.signature,
    ]


def totals_of(rows: Sequence[UsageExportRow]) -> dict[str, Any]:
    """Per-meter sums of the rows (egress as its 6-decimal string), as the manifest states."""
    return {
        "api_calls": sum(row.api_calls for row in rows),
        "ingest_events": sum(row.ingest_events for row in rows),
        "egress_gb": f"{sum((row.egress_gb for row in rows), Decimal(0)):.6f}",
    }


@dataclass(frozen=True)
class ExportResult:
    """What one export wrote: where, which rows, the files' sha256 digests, the signer."""

    day: date
    directory: Path
    rows: list[UsageExportRow]
    digests: dict[str, str]  # file name -> sha256 hex, for all three files
    totals: dict[str, Any]
    kid: str  # the key that signed the manifest

    @property
    def row_count(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class ExportFile:
    name: str
    size_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "bytes": self.size_bytes}


@dataclass(frozen=True)
class ExportListing:
    """A day's export as found on disk (the row count is the manifest's claim)."""

    day: date
    row_count: int | None
    files: list[ExportFile]

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "rowCount": self.row_count,
            "files": [f.as_dict() for f in self.files],
        }


class UsageExporter:
    """Builds, signs, writes and lists daily usage exports.

    Exports hold every tenant's usage: operators' calls take the principal and ask policy
    for ``billing.admin``; the scheduler's (``run_scheduled``, ``export_previous_day``) act
    for nobody and ask none.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        keyring: Keyring,
        export_dir: Path,
        policy: PolicyEngine,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._policy = policy
        self._uow = UnitOfWorkFactory(engine, clock)
        self._keyring = keyring
        self._export_dir = export_dir
        self._listeners: list[ExportListener] = []

    @property
    def export_dir(self) -> Path:
        return self._export_dir

    def on_exported(self, listener: ExportListener) -> None:
        """Register a callback run with (day, rows) after each export is in place."""
        self._listeners.append(listener)

    # --- rows ------------------------------------------------------------------------------

    def rows_for(self, day: date, principal: Principal) -> list[UsageExportRow]:
        """One signed row per tenant that existed at the end of ``day`` (zero usage
        included), ordered by tenant id.

        Raises POLICY_DENIED unless the principal administers billing; VALIDATION when the
        day has not ended yet (its usage is still growing).
        """
        self._authorize(principal)
        return self._sign_rows(self._unsigned_rows(day))

    def _authorize(self, principal: Principal) -> None:
        self._policy.authorize(principal, Action.BILLING_ADMIN, RESOURCE, None)

    def _unsigned_rows(self, day: date) -> list[UsageExportRow]:
        start, end = self._closed_period(day)
        with self._engine.connect() as conn:
            existing = repo.tenants_existing_at(conn, end)
            usage = repo.usage_by_tenant(conn, LEDGER_METERS, start, end)
            earlier_plans = repo.plans_before_changes_from(conn, end)
            overrides = repo.overrides_in_effect_at(conn, end)
        period_start, period_end = isoformat(start), isoformat(end)
        rows = []
        for tenant in existing:
            used = usage.get(tenant.tenant_id, {})
            rows.append(
                UsageExportRow(
                    tenant_id=tenant.tenant_id,
                    period_start=period_start,
                    period_end=period_end,
                    api_calls=used.get("api_calls", 0),
                    ingest_events=used.get("ingest_events", 0),
                    egress_gb=egress_gb(used.get("egress_bytes", 0)),
                    plan=earlier_plans.get(tenant.tenant_id, tenant.current_plan),
                    quota_overrides=canonical_json(overrides.get(tenant.tenant_id, {})).decode(),
                    signature="",
                )
            )
        return rows

    def _sign_rows(self, rows: list[UsageExportRow]) -> list[UsageExportRow]:
        sign = self._keyring.sign
        signed = []
        for row in rows:
            kid, signature = sign(row.signed_bytes())
            signed.append(dataclasses.replace(row, signature=format_signature(kid, signature)))
        return signed

    def _closed_period(self, day: date) -> tuple[datetime, datetime]:
        start, end = period_of(day)
        if end > self._clock.now():
            raise IntelGraphError(
                VALIDATION,
                f"{day.isoformat()} has not ended yet (UTC); export a day before "
                f"{self._clock.now().date().isoformat()}",
            )
        return start, end

    # --- export -----------------------------------------------------------------------------

    def export(
        self,
        day: date,
        principal: Principal,
        out_dir: Path | None = None,
        *,
        on_step: StepListener | None = None,
    ) -> ExportResult:
        """Write the signed export of ``day`` to ``<out_dir or export dir>/YYYY-MM-DD/``,
        replacing an earlier export of that day, record it as exported by ``principal``,
        then tell the listeners.

        Raises POLICY_DENIED unless the principal administers billing; VALIDATION when the
        day has not ended; OSError when the directory cannot be written (nothing is left
        in place then).
        """
        self._authorize(principal)
        return self._export(day, out_dir or self._export_dir, principal.actor, on_step or _ignore)

    def run_scheduled(self, day: date) -> ExportResult:
        """The scheduler's daily job (acts for nobody, asks no policy): export ``day`` into
        the export dir, recorded as ``system:scheduler``."""
        return self._export(day, self._export_dir, SCHEDULER_ACTOR, _ignore)

    def _export(self, day: date, out_dir: Path, actor: str, on_step: StepListener) -> ExportResult:
        result = self._write(day, out_dir, on_step)
        with self._uow() as uow:
            self._record(uow.conn, result, actor)
            uow.commit()
        self._notify(result)
        return result

    def export_previous_day(self) -> ExportResult | None:
        """A scheduled job (acts for nobody, asks no policy): export yesterday (UTC) into
        the export dir unless it is done already or another replica holds the job lock;
        returns None when it did nothing."""
        day = (self._clock.now() - timedelta(days=1)).date()
        target = str(self._day_dir(self._export_dir, day))
        with self._uow() as uow:
            if not try_job_lock(uow.conn, EXPORT_JOB):
                return None
            if repo.is_recorded(uow.conn, day, target):
                return None
            result = self._write(day, self._export_dir, _ignore)
            self._record(uow.conn, result, SCHEDULER_ACTOR)
            uow.commit()
        log.info(
            "usage export written",
            extra={"day": day.isoformat(), "rows": result.row_count, "directory": target},
        )
        self._notify(result)
        return result

    def _write(self, day: date, out_dir: Path, on_step: StepListener) -> ExportResult:
        on_step(EXPORT_STEPS[0])
        unsigned = self._unsigned_rows(day)
        on_step(EXPORT_STEPS[1])
        rows = self._sign_rows(unsigned)

        make_private_dir(out_dir)
        _remove_leftovers(out_dir, day)
        final = self._day_dir(out_dir, day)
        staging = out_dir / f".{day.isoformat()}.tmp-{secrets.token_hex(4)}"
        make_private_dir(staging)
        try:
            on_step(EXPORT_STEPS[2])
            csv_digest = _write_csv(staging / csv_name(day), rows)
            on_step(EXPORT_STEPS[3])
            parquet_digest = _write_parquet(staging / parquet_name(day), day, rows)
            on_step(EXPORT_STEPS[4])
            totals = totals_of(rows)
            kid, manifest = self._manifest(day, rows, totals, csv_digest, parquet_digest)
            manifest_digest = _write_bytes(staging / MANIFEST_NAME, manifest)
            _fsync_dir(staging)
            on_step(EXPORT_STEPS[5])
            publish(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return ExportResult(
            day=day,
            directory=final,
            rows=rows,
            digests={
                csv_name(day): csv_digest,
                parquet_name(day): parquet_digest,
                MANIFEST_NAME: manifest_digest,
            },
            totals=totals,
            kid=kid,
        )

    def _manifest(
        self,
        day: date,
        rows: list[UsageExportRow],
        totals: dict[str, Any],
        csv_digest: str,
        parquet_digest: str,
    ) -> tuple[str, bytes]:
        start, end = period_of(day)
        payload = statement(
            [
                {"name": csv_name(day), "digest": {"sha256": csv_digest}},
                {"name": parquet_name(day), "digest": {"sha256": parquet_digest}},
            ],
            PREDICATE_TYPE,
            {
                "period": {"start": isoformat(start), "end": isoformat(end)},
                "rowCount": len(rows),
                "totals": totals,
                "columns": list(EXPORT_COLUMNS),
            },
        )
        envelope = sign_envelope(IN_TOTO_PAYLOAD_TYPE, payload, self._keyring.sign)
        document = orjson.dumps(envelope.to_json(), option=orjson.OPT_INDENT_2) + b"\n"
        return envelope.signatures[0][0], document

    def _record(self, conn: Connection, result: ExportResult, actor: str) -> None:
        repo.record(
            conn,
            day=result.day,
            directory=str(result.directory),
            row_count=result.row_count,
            totals=result.totals,
            manifest_sha256=result.digests[MANIFEST_NAME],
            kid=result.kid,
            exported_by=actor,
            exported_at=self._clock.now(),
        )

    def _notify(self, result: ExportResult) -> None:
        for listener in self._listeners:
            try:
                listener(result.day, list(result.rows))
            except Exception:
                # The export stands; `billing backfill` hands the day to adapters again.
                log.exception("usage export listener failed", extra={"day": str(result.day)})

    @staticmethod
    def _day_dir(out_dir: Path, day: date) -> Path:
        return out_dir.resolve() / day.isoformat()

    # --- listing and download ---------------------------------------------------------------

    def list_exports(self, principal: Principal) -> list[ExportListing]:
        """The exports in the export dir, newest day first.

        Raises POLICY_DENIED unless the principal administers billing.
        """
        self._authorize(principal)
        if not self._export_dir.is_dir():
            return []
        listings = []
        for entry in self._export_dir.iterdir():
            if not entry.is_dir() or not _DAY_PATTERN.match(entry.name):
                continue
            try:
                day = date.fromisoformat(entry.name)
            except ValueError:
                continue
            files = [
                ExportFile(name, (entry / name).stat().st_size)
                for name in export_file_names(day)
                if (entry / name).is_file()
            ]
            listings.append(ExportListing(day, _claimed_row_count(entry / MANIFEST_NAME), files))
        return sorted(listings, key=lambda listing: listing.day, reverse=True)

    def export_file(self, day_text: str, name: str, principal: Principal) -> Path:
        """The path of one file of a day's export.

        Raises POLICY_DENIED unless the principal administers billing; VALIDATION for a
        malformed day or a name that is not one of the export's three files,
        EXPORT_NOT_FOUND when that export or file does not exist.
        """
        self._authorize(principal)
        day = parse_day(day_text)
        allowed = export_file_names(day)
        if name not in allowed:
            raise IntelGraphError(
                VALIDATION, f"{name!r} is not an export file; choose one of: {', '.join(allowed)}"
            )
        path = self._export_dir / day.isoformat() / name
        if not path.is_file():
            raise IntelGraphError(
                EXPORT_NOT_FOUND,
                f"no {name} for {day.isoformat()}; GET /v1/admin/exports lists the exports",
            )
        return path


def publish(staging: Path, final: Path) -> None:
    """Move a complete, fsynced staging directory to its final name, replacing an earlier
    export of the day. Between the two renames the day has no export, never a partial one."""
    displaced: Path | None = None
    if final.exists():
        displaced = final.with_name(f".{final.name}.old-{secrets.token_hex(4)}")
        os.rename(final, displaced)
    os.rename(staging, final)
    _fsync_dir(final.parent)
    if displaced is not None:
        shutil.rmtree(displaced, ignore_errors=True)


def _write_csv(path: Path, rows: list[UsageExportRow]) -> str:
    with open(path, "w", newline="", encoding="utf-8", opener=private_opener) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        writer.writerows(csv_cells(row) for row in rows)
        handle.flush()
        os.fsync(handle.fileno())
    return file_sha256(path)


def _write_parquet(path: Path, day: date, rows: list[UsageExportRow]) -> str:
    start, end = period_of(day)  # every row of an export covers the same day
    table = pa.Table.from_pydict(
        {
            "tenant_id": [row.tenant_id for row in rows],
            "period_start": [start] * len(rows),
            "period_end": [end] * len(rows),
            "api_calls": [row.api_calls for row in rows],
            "ingest_events": [row.ingest_events for row in rows],
            "egress_gb": [row.egress_gb for row in rows],
            "plan": [row.plan for row in rows],
            "quota_overrides": [row.quota_overrides for row in rows],
            "signature": [row.signature for row in rows],
        },
        schema=PARQUET_SCHEMA,
    )
    with open(path, "wb", opener=private_opener) as handle:
        pq.write_table(table, handle, compression="zstd")
        handle.flush()
        os.fsync(handle.fileno())
    return file_sha256(path)


def _write_bytes(path: Path, data: bytes) -> str:
    with open(path, "wb", opener=private_opener) as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (export files can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_leftovers(out_dir: Path, day: date) -> None:
    """Staging or displaced directories of this day left by a crash an hour or more ago."""
    cutoff = time.time() - _LEFTOVER_AGE_SECONDS
    for prefix in (f".{day.isoformat()}.tmp-", f".{day.isoformat()}.old-"):
        for entry in out_dir.glob(f"{prefix}*"):
            with contextlib.suppress(OSError):
                if entry.is_dir() and entry.stat().st_mtime < cutoff:
                    shutil.rmtree(entry, ignore_errors=True)


def _claimed_row_count(manifest: Path) -> int | None:
    """The row count a manifest states (unverified: listing is not verification)."""
    try:
        envelope = orjson.loads(manifest.read_bytes())
        payload = orjson.loads(base64.b64decode(envelope["payload"]))
        count = payload["predicate"]["rowCount"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return count if isinstance(count, int) else None


def _ignore(_: str) -> None:
    return None
