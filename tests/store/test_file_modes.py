"""Everything IntelGraph writes in its data dir is private: files 0600, directories 0700
(issue 11, D8), whatever the umask, and an older install is tightened at start-up."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from intelgraph.app import create_app
from intelgraph.billing.adapters import Delivery, FileAdapter
from intelgraph.billing.outbox import delivery_id
from intelgraph.bootstrap import start_services
from intelgraph.kernel.tenancy import local_operator
from intelgraph.settings import Settings
from intelgraph.store.engine import create_store_engine


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The common default: without explicit modes, files come out 0644 and dirs 0755."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def settings_in(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": f"sqlite:///{data_dir}/intelgraph.db",
        "data_dir": data_dir,
        "operator_key": None,
        "master_key": None,
        "run_background_jobs": False,
    }
    return Settings(**(values | overrides))


def test_a_new_sqlite_database_and_its_wal_and_shm_are_0600(tmp_path: Path) -> None:
    database = tmp_path / "db" / "intelgraph.db"
    engine = create_store_engine(f"sqlite:///{database}")
    with engine.begin() as conn:  # a write: SQLite creates the -wal and -shm files
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
        wal = database.with_name("intelgraph.db-wal")
        shm = database.with_name("intelgraph.db-shm")
        assert wal.exists() and shm.exists()
        modes = {p.name: oct(mode(p)) for p in (database, wal, shm)}
    engine.dispose()
    assert modes == {name: "0o600" for name in modes}
    assert oct(mode(database.parent)) == "0o700"


def test_an_existing_parent_directory_of_the_database_is_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    engine = create_store_engine(f"sqlite:///{shared}/intelgraph.db")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    engine.dispose()
    assert oct(mode(shared)) == "0o755"
    assert oct(mode(shared / "intelgraph.db")) == "0o600"


def test_the_data_dir_and_generated_key_files_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "var" / "data"
    services = start_services(settings_in(data_dir))
    with TestClient(create_app(services=services)) as client:
        tenant = client.post(
            "/v1/admin/tenants",
            json={"name": "Modes", "slug": "modes", "plan": "standard"},
            headers={"Authorization": f"Bearer {services.operator_key.plaintext}"},
        )
        assert tenant.status_code == 201, tenant.text
        created = {  # while the app runs: the -wal and -shm files go at the last close
            p.relative_to(tmp_path).as_posix(): oct(mode(p))
            for p in [tmp_path / "var", *sorted((tmp_path / "var").rglob("*"))]
        }
    assert services.operator_key.is_new
    assert "var/data/operator.key" in created and "var/data/master.key" in created
    assert "var/data/intelgraph.db-wal" in created
    expected = {name: ("0o700" if (tmp_path / name).is_dir() else "0o600") for name in created}
    assert created == expected


def test_usage_exports_and_billing_event_files_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    services = start_services(settings_in(data_dir))
    try:
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
        result = services.exports.export(yesterday, local_operator("test"))
    finally:
        services.engine.dispose()
    exports = services.settings.usage_export_dir
    assert result.directory.parent == exports
    start = datetime.combine(yesterday, datetime.min.time(), UTC)
    billing_dir = services.settings.billing_events_dir
    FileAdapter(billing_dir).deliver(
        [
            Delivery(
                delivery_id=delivery_id("ten_a", start, "api_calls", "file"),
                tenant_id="ten_a",
                period_start=start,
                adapter="file",
                meter="api_calls",
                value=Decimal("1"),
                payload={},
                attempts=0,
                customer_id=None,
            )
        ]
    )
    written = [exports, *exports.rglob("*"), billing_dir, *billing_dir.rglob("*")]
    assert len(written) >= 7  # the day's directory, csv, parquet, manifest; events, lock
    modes = {p.relative_to(data_dir).as_posix(): oct(mode(p)) for p in written}
    expected = {name: ("0o700" if (data_dir / name).is_dir() else "0o600") for name in modes}
    assert modes == expected


def test_an_older_install_is_made_private_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    settings = settings_in(data_dir)
    start_services(settings).engine.dispose()  # the install
    for path in [data_dir, *data_dir.rglob("*")]:  # as it was before files were made private
        path.chmod(0o755 if path.is_dir() else 0o644)
    (data_dir / "exports").mkdir(mode=0o755)
    (data_dir / "exports" / "old.csv").write_text("a,b\n")
    os.chmod(data_dir / "exports" / "old.csv", 0o644)

    with caplog.at_level("WARNING"):
        start_services(settings).engine.dispose()

    entries = [data_dir, *data_dir.rglob("*")]
    loose = {p.name: oct(mode(p)) for p in entries if mode(p) & 0o077}
    assert loose == {}
    assert oct(mode(data_dir / "exports")) == "0o700"
    assert any("private" in record.getMessage() for record in caplog.records)
