"""Daily usage export: write and sign a day for 1,000 tenants from 1.44 million minute buckets,
then verify it.

Per backend (SQLite file; PostgreSQL unless ``--quick``): seed 1,000 tenants (some with
quota overrides, some with a plan change after the day) and 1.44 million usage-ledger
buckets inside the day (1,000 tenants x 3 meters x 480 minutes; ``--history-days`` adds as
many buckets on each of that many earlier days, which the export must skip), bulk-inserted
(SQLite executemany of tuples, PostgreSQL COPY). Then time, in process:

- ``export``: the one grouped ledger query, 1,000 Ed25519 row signatures, CSV, Parquet,
  the signed manifest, fsyncs and the rename into place (target <= 10 s);
- ``verify``: manifest signature, digests, row counts and all 2,000 row signatures of the
  CSV and Parquet files, against the local key ring and against the JWKS (target <= 5 s).

Prints wall and CPU seconds (CPU of this process; the database server's work on
PostgreSQL shows in wall time only) and the time of each export step. Never fails on time.
Run: ``.venv/bin/python bench/bench_usage_export.py [--quick] [--history-days N]``.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    BACKENDS,
    Stopwatch,
    in_process,
    postgres_available,
    print_header,
    scratch_database,
    scratch_dir,
)

METERS = ("api_calls", "ingest_events", "egress_bytes")
MINUTES_PER_METER = 480  # 1,000 tenants x 3 meters x 480 minutes = 1.44 million buckets
EXPORT_TARGET_S = 10.0
VERIFY_TARGET_S = 5.0
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="SQLite only")
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--minutes-per-meter", type=int, default=MINUTES_PER_METER)
    parser.add_argument(
        "--history-days", type=int, default=0, help="earlier days of buckets the export skips"
    )
    parser.add_argument("--backends", nargs="*", choices=BACKENDS)
    args = parser.parse_args()
    backends = list(args.backends or (("sqlite",) if args.quick else BACKENDS))
    buckets = args.tenants * len(METERS) * args.minutes_per_meter
    print_header(
        "usage export: export + verify one day",
        tenants=args.tenants,
        buckets_in_day=f"{buckets:,}",
        history_days=args.history_days,
        backends=", ".join(backends),
        targets=f"export <= {EXPORT_TARGET_S:.0f} s, verify <= {VERIFY_TARGET_S:.0f} s",
    )
    for backend in backends:
        if backend == "postgresql" and (why := postgres_available()) is not None:
            print(f"\n[postgresql] skipped: {why}")
            continue
        run_backend(backend, args.tenants, args.minutes_per_meter, args.history_days)


def run_backend(backend: str, n_tenants: int, minutes_per_meter: int, history_days: int) -> None:
    from intelgraph.billing.verify import JwksKeys, verify_export
    from intelgraph.kernel.tenancy import local_operator

    day = datetime.now(UTC).date() - timedelta(days=1)
    print(f"\n[{backend}] day {day.isoformat()}", flush=True)
    with scratch_dir(f"export-{backend}") as workdir, scratch_database(backend, workdir) as url:
        services = in_process(url, workdir / "data")
        seed_watch = Stopwatch()
        with seed_watch.running():
            tenant_ids = seed_tenants(services.engine, n_tenants, day)
            inserted = 0
            for offset in range(history_days, -1, -1):
                inserted += seed_ledger(
                    services.engine, tenant_ids, day - timedelta(days=offset), minutes_per_meter
                )
            analyze(services.engine)
        print(
            f"  seeded {len(tenant_ids):,} tenants and {inserted:,} ledger buckets in "
            f"{seed_watch.wall:.1f} s",
            flush=True,
        )

        steps: list[tuple[str, float]] = []
        export_watch = Stopwatch()
        with export_watch.running():
            result = services.exports.export(
                day,
                local_operator("bench"),
                on_step=lambda name: steps.append((name, time.perf_counter())),
            )
        finished = time.perf_counter()
        sizes = {p.name: p.stat().st_size for p in sorted(result.directory.iterdir())}
        print(
            f"  export: {export_watch.wall:.2f} s wall, {export_watch.cpu:.2f} s CPU "
            f"({result.row_count:,} rows; target <= {EXPORT_TARGET_S:.0f} s: "
            f"{'met' if export_watch.wall <= EXPORT_TARGET_S else 'MISSED'})"
        )
        for (name, began), (_, ended) in zip(steps, [*steps[1:], ("", finished)], strict=True):
            print(f"    {name:<18} {ended - began:7.3f} s")
        print("    files: " + ", ".join(f"{name} {size:,} B" for name, size in sizes.items()))
        print(f"    totals: {result.totals}")

        for label, keys in (
            ("key ring", services.keyring),
            ("JWKS", JwksKeys.from_document(services.keyring.jwks())),
        ):
            verify_watch = Stopwatch()
            with verify_watch.running():
                report = verify_export(result.directory, keys)
            state = "OK" if report.is_ok else f"FAILED: {report.problem}"
            print(
                f"  verify ({label}): {verify_watch.wall:.2f} s wall, {verify_watch.cpu:.2f} s "
                f"CPU, {report.signatures_checked:,} row signatures, {state} (target <= "
                f"{VERIFY_TARGET_S:.0f} s: "
                f"{'met' if verify_watch.wall <= VERIFY_TARGET_S else 'MISSED'})",
                flush=True,
            )
        services.engine.dispose()


def seed_tenants(engine: Any, n_tenants: int, day: date) -> list[str]:
    """Tenants created the day before, a tenth with overrides, a twentieth with a plan change
    after the day (so the export must take their plan from the audit log)."""
    from sqlalchemy import insert

    from intelgraph.store.tables import audit_log, quota_overrides, tenants

    created = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(days=1)
    after = created + timedelta(days=2, hours=3)
    plans = ("starter", "standard", "premium", "enterprise")
    ids = [f"ten_bench{n:06d}" for n in range(n_tenants)]
    with engine.begin() as conn:
        conn.execute(
            insert(tenants),
            [
                {
                    "tenant_id": tenant_id,
                    "slug": f"bench-{n}",
                    "name": f"Bench {n}",
                    "region": "local",
                    "plan": plans[n % len(plans)],
                    "status": "active",
                    "is_sandbox": False,
                    "created_at": created,
                    "is_safelisted": False,
                    "allows_apq": True,
                }
                for n, tenant_id in enumerate(ids)
            ],
        )
        conn.execute(
            insert(quota_overrides),
            [
                {
                    "tenant_id": tenant_id,
                    "override_id": f"ovr_bench{n:06d}",
                    "limit_name": "api_rpm",
                    "value": 20_000 + n,
                    "reason": "bench",
                    "actor": "bench",
                    "created_at": created,
                }
                for n, tenant_id in enumerate(ids)
                if n % 10 == 0
            ],
        )
        conn.execute(
            insert(audit_log),
            [
                {
                    "tenant_id": tenant_id,
                    "audit_id": f"aud_bench{n:06d}",
                    "actor": "bench",
                    "action": "tenant.plan_change",
                    "target": f"tenant:bench-{n}",
                    "old_value": {"plan": "starter"},
                    "new_value": {"plan": plans[n % len(plans)]},
                    "created_at": after,
                }
                for n, tenant_id in enumerate(ids)
                if n % 20 == 0
            ],
        )
    return ids


def bucket_rows(
    tenant_ids: list[str], day: date, minutes_per_meter: int
) -> Iterator[tuple[str, str, datetime, int]]:
    rng = random.Random(day.toordinal())
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    minutes = [start + timedelta(minutes=m) for m in range(1440)]
    for tenant_id in tenant_ids:
        for meter in METERS:
            high = 5_000_000 if meter == "egress_bytes" else 200
            for minute in sorted(rng.sample(minutes, minutes_per_meter)):
                yield tenant_id, meter, minute, rng.randint(1, high)


def seed_ledger(engine: Any, tenant_ids: list[str], day: date, minutes_per_meter: int) -> int:
    """Bulk insert one day of buckets: executemany of tuples (SQLite) or COPY (PostgreSQL)."""
    raw = engine.raw_connection()
    count = 0
    try:
        if engine.dialect.name == "sqlite":
            cursor = raw.cursor()
            rows = [
                (tenant_id, meter, minute.strftime(SQLITE_DATETIME), value)
                for tenant_id, meter, minute, value in bucket_rows(
                    tenant_ids, day, minutes_per_meter
                )
            ]
            cursor.executemany(
                "INSERT INTO usage_ledger (tenant_id, meter, bucket_start, value) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )
            count = len(rows)
        else:
            buffer = io.StringIO()
            for tenant_id, meter, minute, value in bucket_rows(tenant_ids, day, minutes_per_meter):
                buffer.write(f"{tenant_id}\t{meter}\t{minute.isoformat()}\t{value}\n")
                count += 1
            cursor = raw.driver_connection.cursor()
            with cursor.copy(
                "COPY usage_ledger (tenant_id, meter, bucket_start, value) FROM STDIN"
            ) as copy:
                copy.write(buffer.getvalue())
        raw.commit()
    finally:
        raw.close()
    return count


def analyze(engine: Any) -> None:
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


if __name__ == "__main__":
    main()
