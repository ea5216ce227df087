"""Signed daily usage exports: what an operator, an auditor and a billing system rely on."""

from __future__ import annotations

import base64
import csv
import os
import secrets
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import text
from starlette.testclient import TestClient
from typer.testing import CliRunner

from intelgraph.app import Services, create_app
from intelgraph.billing import exports as exports_module
from intelgraph.billing.exports import ExportResult
from intelgraph.billing.usage_rows import EXPORT_COLUMNS, UsageExportRow
from intelgraph.billing.verify import JwksKeys, ProblemKind, verify_export
from intelgraph.bootstrap import start_services
from intelgraph.cli.context import services as cli_services
from intelgraph.cli.main import app as cli
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.errors import IntelGraphError
from intelgraph.kernel.tenancy import Principal, local_operator
from intelgraph.metering.ledger import add_usage
from intelgraph.metering.meters import UsageRow
from intelgraph.settings import Settings
from intelgraph.tenants.model import Tenant

from .export_support import export_settings

DAY = date(2026, 3, 9)
DAY_START = datetime(2026, 3, 9, tzinfo=UTC)
NEXT_DAY = DAY_START + timedelta(days=1)
OPERATOR_KEY = "igo_export_test_operator_key"
OPERATOR = local_operator("test")  # the person at the CLI: a platform-admin
CSV = "usage-2026-03-09.csv"
PARQUET = "usage-2026-03-09.parquet"


@dataclass
class ExportsApp:
    """An app on its own database whose clock the test moves."""

    client: TestClient
    services: Services
    clock: ManualClock
    settings: Settings
    env: dict[str, str]

    @property
    def operator(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {OPERATOR_KEY}"}

    def tenant(self, plan: str = "standard") -> Tenant:
        tenant, _ = self.services.tenants.create_tenant(
            OPERATOR, name="Export test", slug=f"x-{secrets.token_hex(4)}", plan=plan
        )
        return tenant

    def usage(self, tenant: Tenant, meter: str, at: datetime, value: int) -> None:
        with self.services.engine.begin() as conn:
            add_usage(conn, [UsageRow(tenant.id, meter, at, value)])

    def close_the_day(self) -> None:
        """Move the clock past the end of DAY (to 00:30 the next day)."""
        self.clock.advance((NEXT_DAY + timedelta(minutes=30) - self.clock.now()).total_seconds())

    def export(self) -> ExportResult:
        return self.services.exports.export(DAY, OPERATOR)


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ExportsApp]:
    """Each test gets a database of its own (the key ring and the export record are
    platform-wide state) and a clock at 08:00 on DAY."""
    url = (
        f"sqlite:///{tmp_path}/exports.db"
        if request.param == "sqlite"
        else request.getfixturevalue("fresh_postgres_url")
    )
    settings, env = export_settings(url, tmp_path, OPERATOR_KEY)
    clock = ManualClock(DAY_START + timedelta(hours=8))
    services = start_services(settings, clock=clock)
    with TestClient(create_app(services=services)) as client:
        yield ExportsApp(client, services, clock, settings, env)
    services.engine.dispose()


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def csv_rows_by_tenant(path: Path) -> dict[str, dict[str, str]]:
    header, *rows = read_csv(path)
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows}


def rewrite_csv_cell(path: Path, tenant_id: str, column: str, value: str) -> int:
    """Change one cell; returns the data row number (1-based) that was changed."""
    header, *rows = read_csv(path)
    number = next(n for n, row in enumerate(rows, start=1) if row[0] == tenant_id)
    rows[number - 1][header.index(column)] = value
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *rows])
    return number


# --- contents -------------------------------------------------------------------------------


def test_the_files_have_exactly_the_contract_columns_and_one_row_per_tenant(
    app: ExportsApp,
) -> None:
    busy, idle = app.tenant(), app.tenant()
    app.usage(busy, "api_calls", DAY_START + timedelta(hours=9), 7)
    app.close_the_day()
    late = app.tenant()  # created after the day: not billed for it

    result = app.export()

    assert sorted(result.directory.iterdir()) == [
        result.directory / "manifest.json",
        result.directory / CSV,
        result.directory / PARQUET,
    ]
    header, *rows = read_csv(result.directory / CSV)
    assert header == [
        "tenant_id",
        "period_start",
        "period_end",
        "api_calls",
        "ingest_events",
        "egress_gb",
        "plan",
        "quota_overrides",
        "signature",
    ]
    assert tuple(header) == EXPORT_COLUMNS
    assert [row[0] for row in rows] == sorted([busy.id, idle.id])
    assert late.id not in {row[0] for row in rows}
    by_tenant = csv_rows_by_tenant(result.directory / CSV)
    assert by_tenant[idle.id]["api_calls"] == "0"
    assert by_tenant[idle.id]["egress_gb"] == "0.000000"
    assert by_tenant[busy.id]["api_calls"] == "7"
    assert pq.read_table(result.directory / PARQUET).column_names == list(EXPORT_COLUMNS)


def test_periods_are_half_open_rfc3339_utc_days(app: ExportsApp) -> None:
    tenant = app.tenant()
    app.usage(tenant, "api_calls", DAY_START, 1)  # first minute: in
    app.usage(tenant, "api_calls", NEXT_DAY - timedelta(minutes=1), 10)  # last minute: in
    app.usage(tenant, "api_calls", DAY_START - timedelta(minutes=1), 100)  # day before: out
    app.usage(tenant, "api_calls", NEXT_DAY, 1000)  # next day's first minute: out
    app.close_the_day()

    row = csv_rows_by_tenant(app.export().directory / CSV)[tenant.id]

    assert row["period_start"] == "2026-03-09T00:00:00Z"
    assert row["period_end"] == "2026-03-10T00:00:00Z"
    assert row["api_calls"] == "11"


def test_egress_is_decimal_gigabytes_with_six_decimals_and_the_parquet_types_are_explicit(
    app: ExportsApp,
) -> None:
    tenant = app.tenant()
    app.usage(tenant, "egress_bytes", DAY_START + timedelta(hours=1), 1_234_567_891)
    app.usage(tenant, "ingest_events", DAY_START + timedelta(hours=1), 42)
    app.close_the_day()

    result = app.export()

    assert csv_rows_by_tenant(result.directory / CSV)[tenant.id]["egress_gb"] == "1.234568"
    table = pq.read_table(result.directory / PARQUET)
    schema = table.schema
    assert schema.field("tenant_id").type == pa.string()
    assert schema.field("period_start").type == pa.timestamp("us", tz="UTC")
    assert schema.field("period_end").type == pa.timestamp("us", tz="UTC")
    assert schema.field("api_calls").type == pa.int64()
    assert schema.field("ingest_events").type == pa.int64()
    assert schema.field("egress_gb").type == pa.decimal128(20, 6)
    parquet_row = next(r for r in table.to_pylist() if r["tenant_id"] == tenant.id)
    assert parquet_row["egress_gb"] == Decimal("1.234568")
    assert parquet_row["ingest_events"] == 42
    assert parquet_row["period_start"] == DAY_START
    assert parquet_row["period_end"] == NEXT_DAY


def test_the_plan_is_the_one_in_effect_at_the_end_of_the_day(app: ExportsApp) -> None:
    upgraded_during, upgraded_after, unchanged = app.tenant(), app.tenant(), app.tenant("starter")
    app.clock.advance(3600)
    app.services.entitlements.change_plan(OPERATOR, upgraded_during.id, "premium", reason="upgrade")
    app.close_the_day()
    app.services.entitlements.change_plan(
        OPERATOR, upgraded_during.id, "enterprise", reason="upgrade again"
    )
    app.services.entitlements.change_plan(
        OPERATOR, upgraded_after.id, "enterprise", reason="next day"
    )

    rows = csv_rows_by_tenant(app.export().directory / CSV)

    assert rows[upgraded_during.id]["plan"] == "premium"
    assert rows[upgraded_after.id]["plan"] == "standard"
    assert rows[unchanged.id]["plan"] == "starter"


def test_overrides_in_effect_at_the_end_of_the_day_are_canonical_json(app: ExportsApp) -> None:
    plain, overridden, expired, removed_after = (app.tenant() for _ in range(4))
    entitlements = app.services.entitlements
    entitlements.set_override(OPERATOR, overridden.id, "ingest_eps", 5000, reason="launch")
    entitlements.set_override(OPERATOR, overridden.id, "api_rpm", 8000, reason="launch")
    entitlements.set_override(
        OPERATOR,
        expired.id,
        "api_rpm",
        9000,
        reason="one afternoon",
        expires_at=DAY_START + timedelta(hours=16),
    )
    entitlements.set_override(OPERATOR, removed_after.id, "egress_gb_day", 70, reason="trial")
    app.close_the_day()
    entitlements.remove_override(OPERATOR, removed_after.id, "egress_gb_day", reason="over")

    rows = csv_rows_by_tenant(app.export().directory / CSV)

    assert rows[plain.id]["quota_overrides"] == "{}"
    assert rows[overridden.id]["quota_overrides"] == '{"api_rpm":8000,"ingest_eps":5000}'
    assert rows[expired.id]["quota_overrides"] == "{}"
    assert rows[removed_after.id]["quota_overrides"] == '{"egress_gb_day":70}'


def test_a_day_that_has_not_ended_is_refused(app: ExportsApp) -> None:
    app.tenant()
    with pytest.raises(IntelGraphError) as refused:
        app.services.exports.rows_for(DAY, OPERATOR)
    assert refused.value.code == "VALIDATION" and "has not ended" in refused.value.message
    assert not app.settings.usage_export_dir.exists()


# --- signatures and verification -----------------------------------------------------------


def test_every_row_is_signed_and_the_export_verifies(app: ExportsApp) -> None:
    first, second = app.tenant(), app.tenant()
    app.usage(first, "api_calls", DAY_START + timedelta(hours=2), 3)
    app.close_the_day()

    result = app.export()
    report = verify_export(result.directory, app.services.keyring)

    assert report.is_ok, report.problem
    assert report.row_count == 2 and report.signatures_checked == 4
    assert report.day == DAY
    for row in result.rows:
        scheme, kid, signature = row.signature.split(":")
        assert scheme == "ed25519"
        app.services.keyring.verify(kid, row.signed_bytes(), _b64url_decode(signature))
    manifest = orjson.loads((result.directory / "manifest.json").read_bytes())
    statement = orjson.loads(_b64decode(manifest["payload"]))
    assert manifest["payloadType"] == "application/vnd.in-toto+json"
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert {s["name"] for s in statement["subject"]} == {CSV, PARQUET}
    assert statement["predicate"]["rowCount"] == 2
    assert statement["predicate"]["period"] == {
        "start": "2026-03-09T00:00:00Z",
        "end": "2026-03-10T00:00:00Z",
    }
    assert statement["predicate"]["totals"]["api_calls"] == 3
    assert {first.id, second.id} == {row.tenant_id for row in result.rows}


def test_a_tampered_csv_cell_is_named_by_file_row_and_column(app: ExportsApp) -> None:
    tenants = [app.tenant() for _ in range(3)]
    for tenant in tenants:
        app.usage(tenant, "api_calls", DAY_START + timedelta(hours=2), 12)
    app.close_the_day()
    result = app.export()
    target = sorted(t.id for t in tenants)[1]

    number = rewrite_csv_cell(result.directory / CSV, target, "api_calls", "13")
    problem = verify_export(result.directory, app.services.keyring).problem

    assert problem is not None
    assert (problem.kind, problem.file, problem.row, problem.column) == (
        ProblemKind.TAMPERED_CELL,
        CSV,
        number,
        "api_calls",
    )
    assert f"{CSV} row {number} column api_calls" in problem.message
    assert "'13'" in problem.message and "'12'" in problem.message


def test_a_tampered_parquet_value_is_named_by_file_row_and_column(app: ExportsApp) -> None:
    tenant = app.tenant()
    app.usage(tenant, "egress_bytes", DAY_START + timedelta(hours=2), 2_000_000_000)
    app.close_the_day()
    result = app.export()
    path = result.directory / PARQUET
    table = pq.read_table(path)
    values = table.column("egress_gb").to_pylist()
    values[0] = Decimal("0.000001")
    index = table.schema.get_field_index("egress_gb")
    table = table.set_column(
        index, table.schema.field(index), pa.array(values, type=pa.decimal128(20, 6))
    )
    pq.write_table(table, path)

    problem = verify_export(result.directory, app.services.keyring).problem

    assert problem is not None
    assert (problem.kind, problem.file, problem.row, problem.column) == (
        ProblemKind.TAMPERED_CELL,
        PARQUET,
        1,
        "egress_gb",
    )
    assert "2.000000" in problem.message


@pytest.mark.parametrize("missing", [CSV, PARQUET, "manifest.json"])
def test_a_missing_file_is_named(app: ExportsApp, missing: str) -> None:
    app.tenant()
    app.close_the_day()
    result = app.export()
    (result.directory / missing).unlink()

    problem = verify_export(result.directory, app.services.keyring).problem

    assert problem is not None
    assert problem.kind is ProblemKind.MISSING_FILE and problem.file == missing
    assert missing in problem.message


def test_an_export_signed_by_a_key_the_jwks_does_not_know_names_the_kid(
    app: ExportsApp,
) -> None:
    app.tenant()
    app.close_the_day()
    result = app.export()
    stranger = JwksKeys.from_document({"keys": []})

    problem = verify_export(result.directory, stranger).problem

    assert problem is not None
    assert problem.kind is ProblemKind.UNKNOWN_KEY
    assert problem.kid == result.kid and result.kid in problem.message


def test_an_export_signed_by_a_retired_key_names_the_kid(app: ExportsApp) -> None:
    app.tenant()
    app.close_the_day()
    result = app.export()
    keyring = app.services.keyring
    keyring.rotate(principal=OPERATOR, reason="scheduled")
    keyring.retire(result.kid, principal=OPERATOR, reason="compromised")

    problem = verify_export(result.directory, keyring).problem

    assert problem is not None
    assert problem.kind is ProblemKind.RETIRED_KEY
    assert problem.kid == result.kid and "retired" in problem.message
    assert result.kid in problem.message


def test_rotation_between_export_and_verify_still_verifies_with_the_verify_only_key(
    app: ExportsApp,
) -> None:
    app.tenant()
    app.close_the_day()
    result = app.export()
    new_kid = app.services.keyring.rotate(principal=OPERATOR, reason="scheduled")

    by_ring = verify_export(result.directory, app.services.keyring)
    by_jwks = verify_export(result.directory, JwksKeys.from_document(app.services.keyring.jwks()))
    again = app.export()

    assert by_ring.is_ok and by_jwks.is_ok, (by_ring.problem, by_jwks.problem)
    assert by_ring.kids == (result.kid,)
    assert again.kid == new_kid and again.kid != result.kid
    assert verify_export(again.directory, app.services.keyring).is_ok


# --- rerun, atomicity, the job, listeners -----------------------------------------------------


def test_exporting_a_day_again_reproduces_identical_rows(app: ExportsApp) -> None:
    tenant = app.tenant()
    app.usage(tenant, "api_calls", DAY_START + timedelta(hours=5), 5)
    app.close_the_day()

    first = app.export()
    first_csv = (first.directory / CSV).read_bytes()
    second = app.export()

    assert second.rows == first.rows
    assert (second.directory / CSV).read_bytes() == first_csv
    assert second.digests[CSV] == first.digests[CSV]
    assert [p.name for p in app.settings.usage_export_dir.iterdir()] == ["2026-03-09"]


def test_a_crash_before_the_rename_leaves_no_export_that_looks_complete(
    app: ExportsApp,
) -> None:
    app.tenant()
    app.close_the_day()
    # A separate process dies (os._exit: no cleanup, no finally) just before the rename.
    crash = (
        "import os, sys\n"
        "from datetime import date\n"
        "from intelgraph.bootstrap import start_services\n"
        "from intelgraph.billing import exports\n"
        "from intelgraph.kernel.tenancy import local_operator\n"
        "from intelgraph.settings import Settings\n"
        "exports.publish = lambda staging, final: os._exit(17)\n"
        "start_services(Settings()).exports.export(date(2026, 3, 9), local_operator('test'))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", crash], env=_child_env(app), capture_output=True, timeout=120
    )

    assert completed.returncode == 17, completed.stderr.decode()
    export_dir = app.settings.usage_export_dir
    leftovers = [p.name for p in export_dir.iterdir()]
    assert leftovers and all(name.startswith(".2026-03-09.tmp-") for name in leftovers)
    assert not (export_dir / "2026-03-09").exists()
    assert app.services.exports.list_exports(OPERATOR) == []
    response = app.client.get(f"/v1/admin/exports/2026-03-09/{CSV}", headers=app.operator)
    assert response.status_code == 404


def test_a_failed_re_export_keeps_the_previous_complete_export(
    app: ExportsApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.tenant()
    app.close_the_day()
    first = app.export()

    def power_cut(staging: Path, final: Path) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(exports_module, "publish", power_cut)
    with pytest.raises(OSError):
        app.export()

    assert verify_export(first.directory, app.services.keyring).is_ok
    assert [p.name for p in app.settings.usage_export_dir.iterdir()] == ["2026-03-09"]


def test_the_daily_job_exports_yesterday_once_and_tells_the_listeners(app: ExportsApp) -> None:
    tenant = app.tenant()
    app.usage(tenant, "api_calls", DAY_START + timedelta(hours=9), 4)
    heard: list[tuple[date, list[UsageExportRow]]] = []
    app.services.exports.on_exported(lambda day, rows: heard.append((day, rows)))
    app.clock.advance((NEXT_DAY + timedelta(minutes=6) - app.clock.now()).total_seconds())

    ran = app.services.scheduler.run_due()
    again = app.services.exports.export_previous_day()

    assert "billing.usage_export" in ran
    assert again is None  # already exported: nothing done twice
    assert len(heard) == 1 and heard[0][0] == DAY
    assert [row.api_calls for row in heard[0][1] if row.tenant_id == tenant.id] == [4]
    directory = app.settings.usage_export_dir / "2026-03-09"
    assert verify_export(directory, app.services.keyring).is_ok


def test_the_daily_job_does_nothing_while_another_replica_holds_its_lock(
    app: ExportsApp,
) -> None:
    if app.services.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one process: there is no other replica to hold the lock")
    app.tenant()
    app.close_the_day()
    other_replica = start_services(app.settings, clock=app.clock)
    try:
        with other_replica.engine.begin() as conn:
            lock_id = _crc32("billing.usage_export")
            assert conn.execute(text("SELECT pg_try_advisory_xact_lock(:i)"), {"i": lock_id})
            assert app.services.exports.export_previous_day() is None
        assert app.services.exports.export_previous_day() is not None
    finally:
        other_replica.engine.dispose()


# --- admin REST -----------------------------------------------------------------------------


def test_operators_list_and_download_exports(app: ExportsApp) -> None:
    app.tenant()
    app.tenant()
    app.close_the_day()
    result = app.export()

    listed = app.client.get("/v1/admin/exports", headers=app.operator)

    assert listed.status_code == 200, listed.text
    (entry,) = listed.json()["exports"]
    assert entry["day"] == "2026-03-09" and entry["rowCount"] == 2
    assert {f["name"]: f["bytes"] for f in entry["files"]} == {
        name: (result.directory / name).stat().st_size for name in (CSV, PARQUET, "manifest.json")
    }
    for name, media in ((CSV, "text/csv"), (PARQUET, "parquet"), ("manifest.json", "json")):
        got = app.client.get(f"/v1/admin/exports/2026-03-09/{name}", headers=app.operator)
        assert got.status_code == 200, got.text
        assert media in got.headers["content-type"]
        assert got.content == (result.directory / name).read_bytes()


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/admin/exports/2026-3-9/manifest.json", 400, "VALIDATION"),
        ("/v1/admin/exports/2026-02-30/manifest.json", 400, "VALIDATION"),
        ("/v1/admin/exports/2026-03-09/secrets.txt", 400, "VALIDATION"),
        ("/v1/admin/exports/2026-03-09/usage-2026-03-08.csv", 400, "VALIDATION"),
        ("/v1/admin/exports/2026-03-08/manifest.json", 404, "EXPORT_NOT_FOUND"),
        ("/v1/admin/exports/2026-03-09/..%2F..%2Fexports.db", 404, "ROUTE_NOT_FOUND"),
    ],
    ids=["short-day", "impossible-day", "other-file", "other-day-file", "not-exported", "dots"],
)
def test_bad_download_requests_are_refused_with_a_taxonomy_code(
    app: ExportsApp, path: str, status: int, code: str
) -> None:
    app.tenant()
    app.close_the_day()
    app.export()

    response = app.client.get(path, headers=app.operator)

    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == code


def test_exports_are_for_the_operator_only(app: ExportsApp) -> None:
    _, issued = app.services.tenants.create_tenant(
        OPERATOR, name="Nosy", slug="nosy-co", plan="standard"
    )
    app.close_the_day()
    app.export()
    tenant_admin = {"Authorization": f"Bearer {issued.plaintext}"}

    for path in ("/v1/admin/exports", f"/v1/admin/exports/2026-03-09/{CSV}"):
        assert app.client.get(path).status_code == 401
        denied = app.client.get(path, headers=tenant_admin)
        assert denied.status_code == 403, denied.text


def test_a_tenant_admin_calling_the_exporter_directly_is_refused_and_nothing_is_written(
    app: ExportsApp,
) -> None:
    tenant = app.tenant()
    app.close_the_day()
    tenant_admin = Principal(tenant.id, "k-admin", "admin", ("admin",))

    attempts: list[Callable[[], object]] = [
        lambda: app.services.exports.export(DAY, tenant_admin),
        lambda: app.services.exports.rows_for(DAY, tenant_admin),
        lambda: app.services.exports.list_exports(tenant_admin),
    ]
    for attempt in attempts:
        with pytest.raises(IntelGraphError) as refused:
            attempt()
        assert refused.value.code == "POLICY_DENIED"
        assert "billing.admin" in refused.value.message
    assert not app.settings.usage_export_dir.exists() or not any(
        app.settings.usage_export_dir.iterdir()
    )


def test_a_billing_admin_operator_may_export_and_list_but_an_auditor_may_not(
    app: ExportsApp,
) -> None:
    app.tenant()
    app.close_the_day()
    billing_admin = Principal(None, "k-bea", "bea", ("billing-admin",), is_operator=True)
    auditor = Principal(None, "k-ann", "ann", ("auditor",), is_operator=True)

    result = app.services.exports.export(DAY, billing_admin)

    assert [e.day for e in app.services.exports.list_exports(billing_admin)] == [DAY]
    assert app.services.exports.export_file(DAY.isoformat(), CSV, billing_admin).is_file()
    assert result.row_count == 1
    with pytest.raises(IntelGraphError) as refused:
        app.services.exports.list_exports(auditor)
    assert refused.value.code == "POLICY_DENIED"


# --- CLI ------------------------------------------------------------------------------------


def run_cli(app: ExportsApp, *args: str) -> Any:
    cli_services.cache_clear()
    try:
        return CliRunner().invoke(cli, list(args), env=app.env)
    finally:
        cli_services.cache_clear()


def test_cli_exports_a_day_and_verifies_it(app: ExportsApp, tmp_path: Path) -> None:
    tenant = app.tenant()
    app.usage(tenant, "api_calls", DAY_START + timedelta(hours=3), 9)
    app.close_the_day()
    out = tmp_path / "elsewhere"

    exported = run_cli(app, "export", "usage", "--date", "2026-03-09", "--out", str(out))
    verified = run_cli(app, "export", "verify", str(out / "2026-03-09"))

    assert exported.exit_code == 0, exported.output
    assert "exported 2026-03-09: 1 rows" in exported.output
    assert verified.exit_code == 0, verified.output
    assert "OK 2026-03-09: 1 rows" in verified.output
    assert "2 row signatures" in verified.output
    assert csv_rows_by_tenant(out / "2026-03-09" / CSV)[tenant.id]["api_calls"] == "9"


def test_cli_verify_exits_1_naming_the_first_failure(app: ExportsApp, tmp_path: Path) -> None:
    tenant = app.tenant()
    app.close_the_day()
    result = app.export()
    number = rewrite_csv_cell(result.directory / CSV, tenant.id, "plan", "enterprise")

    failed = run_cli(app, "export", "verify", str(result.directory))

    assert failed.exit_code == 1
    assert "FAILED" in failed.output and "tampered_cell" in failed.output
    assert f"{CSV} row {number} column plan" in " ".join(failed.output.split())
    assert "Traceback" not in failed.output


def test_cli_verify_against_a_jwks_file(app: ExportsApp, tmp_path: Path) -> None:
    app.tenant()
    app.close_the_day()
    result = app.export()
    jwks = tmp_path / "jwks.json"
    jwks.write_bytes(orjson.dumps(app.client.get("/.well-known/intelgraph/jwks.json").json()))
    empty = tmp_path / "empty.json"
    empty.write_bytes(b'{"keys": []}')

    good = run_cli(app, "export", "verify", str(result.directory), "--jwks", str(jwks))
    unknown = run_cli(app, "export", "verify", str(result.directory), "--jwks", str(empty))

    assert good.exit_code == 0, good.output
    assert unknown.exit_code == 1
    assert "unknown_key" in unknown.output and result.kid in " ".join(unknown.output.split())


def test_cli_refuses_a_day_that_has_not_ended(app: ExportsApp) -> None:
    refused = run_cli(app, "export", "usage", "--date", "2999-01-01")

    assert refused.exit_code == 1
    assert "VALIDATION" in refused.output and "has not ended" in refused.output


# --- helpers --------------------------------------------------------------------------------


def _child_env(app: ExportsApp) -> dict[str, str]:
    return {**os.environ, **app.env}


def _crc32(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def _b64decode(value: str) -> bytes:
    return base64.b64decode(value)


def _b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
