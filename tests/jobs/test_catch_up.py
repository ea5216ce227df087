"""Scheduled jobs catch up on missed days, pause one by one, and never wait for each other.

The clock is a ManualClock the tests move; replicas are services built twice on one
database. A job's thread is real, so "does not delay" is shown by order (the fast job ran
while the slow one was still inside its run), never by durations.
"""

from __future__ import annotations

import http.server
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, Engine, event
from typer.testing import CliRunner

from intelgraph.audit import service as audit
from intelgraph.billing.exports import period_of
from intelgraph.bootstrap import start_services
from intelgraph.cli.context import services as cli_services
from intelgraph.cli.main import app as cli
from intelgraph.jobs import repository as repo
from intelgraph.jobs.scheduler import Scheduler
from intelgraph.kernel.clock import ManualClock
from intelgraph.kernel.tenancy import local_operator
from intelgraph.settings import Settings
from intelgraph.store import migrate
from intelgraph.store.engine import create_store_engine

OPERATOR_KEY = "igo_jobs_test_operator_key"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # noon; the 1st is the first day covered
MARCH = {n: date(2026, 3, n) for n in range(1, 10)}


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of this test's own: job state is global to a database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/jobs.db"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_store_engine(db_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def settings_for(db_url: str, tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        operator_key=OPERATOR_KEY,
        run_background_jobs=False,
        export_dir=tmp_path / "exports",
        **extra,
    )


def move_to(clock: ManualClock, moment: datetime) -> None:
    clock.advance((moment - clock.now()).total_seconds())


def at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def runs(engine: Engine, job: str) -> list[tuple[date, str, int]]:
    with engine.connect() as conn:
        return [(r.day, r.status, r.attempts) for r in repo.runs_of(conn, job)]


# --- catch-up ----------------------------------------------------------------------------


def test_days_missed_while_every_replica_was_down_are_exported_on_start_in_order_once(
    db_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    settings = settings_for(db_url, tmp_path)
    first = start_services(settings, clock=clock)
    move_to(clock, at(2, 0, 6))
    assert "billing.usage_export" in first.scheduler.run_due()  # the 1st, on time
    first.engine.dispose()
    move_to(clock, at(4, 0, 10))  # every replica was down across 00:05 on the 3rd and 4th

    second = start_services(settings, clock=clock)
    exported: list[date] = []
    caught_up = threading.Event()

    def heard(day: date, _rows: object) -> None:
        exported.append(day)
        if day == MARCH[3]:
            caught_up.set()

    second.exports.on_exported(heard)
    second.scheduler.start()  # on start, not at the next 00:05
    try:
        assert caught_up.wait(20), "the missed days were not exported on start"
    finally:
        second.scheduler.stop()
    third = start_services(settings, clock=clock)  # another replica starting later
    third.exports.on_exported(heard)
    ran_again = third.scheduler.run_due() + second.scheduler.run_due()

    assert exported == [MARCH[2], MARCH[3]]
    assert "billing.usage_export" not in ran_again
    assert runs(second.engine, "billing.usage_export") == [
        (MARCH[1], "succeeded", 1),
        (MARCH[2], "succeeded", 1),
        (MARCH[3], "succeeded", 1),
    ]
    listed = second.exports.list_exports(local_operator("test"))
    assert [d.day for d in listed] == [MARCH[3], MARCH[2], MARCH[1]]
    for services in (second, third):
        services.engine.dispose()


def test_a_new_install_does_not_run_days_from_before_it_existed(
    engine: Engine, clock: ManualClock
) -> None:
    days: list[date] = []
    scheduler = Scheduler(engine, clock)
    scheduler.daily("test.export", time(0, 5), days.append)

    assert scheduler.run_due() == []  # the 28th and before were never this install's
    move_to(clock, at(2, 0, 5))
    assert scheduler.run_due() == ["test.export"]
    assert days == [MARCH[1]]


def test_a_failed_day_is_recorded_and_tried_again_before_the_days_after_it(
    engine: Engine, clock: ManualClock
) -> None:
    attempts: list[date] = []

    def export(day: date) -> None:
        attempts.append(day)
        if len(attempts) == 1:
            raise OSError("export disk full")

    scheduler = Scheduler(engine, clock, retry_seconds=60)
    scheduler.daily("test.export", time(0, 5), export)
    move_to(clock, at(3, 0, 10))  # the 1st and the 2nd are due

    assert scheduler.run_due() == ["test.export"]
    assert attempts == [MARCH[1]]  # the 2nd waits for the 1st
    with engine.connect() as conn:
        (failed,) = repo.runs_of(conn, "test.export")
    assert (failed.day, failed.status, failed.attempts) == (MARCH[1], "failed", 1)
    assert failed.error == "OSError: export disk full"
    assert failed.finished_at is not None

    clock.advance(60)  # the next tick after the retry wait
    assert scheduler.run_due() == ["test.export"]
    assert attempts == [MARCH[1], MARCH[1], MARCH[2]]
    assert runs(engine, "test.export") == [
        (MARCH[1], "succeeded", 2),
        (MARCH[2], "succeeded", 1),
    ]
    assert scheduler.run_due() == []


def test_a_second_replica_does_not_run_a_day_the_first_is_running(
    db_url: str, clock: ManualClock
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one process: there is no other replica")
    engines = [create_store_engine(db_url) for _ in range(2)]
    migrate.upgrade(engines[0])
    started, release = threading.Event(), threading.Event()
    done_by: list[str] = []

    def slow(_day: date) -> None:
        started.set()
        release.wait(30)
        done_by.append("first")

    first, second = Scheduler(engines[0], clock), Scheduler(engines[1], clock)
    first.daily("test.export", time(0, 5), slow)
    second.daily("test.export", time(0, 5), lambda _day: done_by.append("second"))
    move_to(clock, at(2, 0, 6))
    running = threading.Thread(target=first.run_due)
    running.start()
    try:
        assert started.wait(10)
        assert second.run_due() == []  # the first holds the job's lock
    finally:
        release.set()
        running.join(30)
    assert second.run_due() == []  # and the day is done
    assert done_by == ["first"]
    for engine in engines:
        engine.dispose()


# --- one job never waits for another -------------------------------------------------------


def test_a_slow_job_does_not_delay_another_due_job(engine: Engine, clock: ManualClock) -> None:
    slow_started, release, fast_ran = threading.Event(), threading.Event(), threading.Event()
    slow_finished = threading.Event()

    def slow(_day: date) -> None:  # the ER nightly evaluation on a big tenant
        slow_started.set()
        release.wait(30)
        slow_finished.set()

    scheduler = Scheduler(engine, clock, tick_seconds=0.01)
    scheduler.daily("test.slow", time(0, 5), slow)  # first in the list
    scheduler.daily("test.fast", time(0, 5), lambda _day: fast_ran.set())
    move_to(clock, at(2, 0, 6))
    scheduler.start()
    try:
        assert slow_started.wait(10)
        assert fast_ran.wait(10), "the fast job waited behind the slow one"
        assert not slow_finished.is_set()  # it ran while the slow one was still running
    finally:
        release.set()
        scheduler.stop()


# --- pause and resume, one job at a time -------------------------------------------------


def run_cli(env: dict[str, str], *args: str) -> Any:
    cli_services.cache_clear()
    try:
        return CliRunner().invoke(cli, list(args), env=env)
    finally:
        cli_services.cache_clear()


def test_pausing_the_eval_job_stops_only_it_on_every_replica_until_resumed(
    db_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    replica = start_services(settings_for(db_url, tmp_path), clock=clock)
    env = {
        "INTELGRAPH_DATABASE_URL": db_url,
        "INTELGRAPH_DATA_DIR": str(tmp_path / "data"),
        "INTELGRAPH_OPERATOR_KEY": OPERATOR_KEY,
        "INTELGRAPH_RUN_BACKGROUND_JOBS": "false",
        "INTELGRAPH_EXPORT_DIR": str(tmp_path / "exports"),
        "COLUMNS": "250",
    }

    paused = run_cli(env, "jobs", "pause", "er.nightly_eval", "--reason", "eval model suspect")
    listed = run_cli(env, "jobs", "list")
    move_to(clock, at(2, 2, 10))  # every daily job is due
    ran_while_paused = replica.scheduler.run_due()
    resumed = run_cli(env, "jobs", "resume", "er.nightly_eval", "--reason", "model fixed")
    ran_after = replica.scheduler.run_due()

    assert paused.exit_code == 0, paused.output
    assert "er.nightly_eval: paused" in paused.output
    assert listed.exit_code == 0, listed.output
    assert "eval model suspect" in listed.output
    assert "er.nightly_eval" not in ran_while_paused
    assert {"billing.usage_export", "billing.reconcile"} <= set(ran_while_paused)
    assert resumed.exit_code == 0, resumed.output
    assert ran_after == ["er.nightly_eval"]
    records = [r for r in audit.list_records(replica.engine) if r.action.startswith("job.")]
    assert [(r.action, r.target, r.reason, r.new_value) for r in records] == [
        ("job.resume", "job:er.nightly_eval", "model fixed", {"is_paused": False}),
        ("job.pause", "job:er.nightly_eval", "eval model suspect", {"is_paused": True}),
    ]
    assert all(r.actor.startswith("cli:") for r in records)
    replica.engine.dispose()


def test_pausing_an_unknown_job_or_without_a_reason_is_refused(
    db_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    services = start_services(settings_for(db_url, tmp_path), clock=clock)
    env = {
        "INTELGRAPH_DATABASE_URL": db_url,
        "INTELGRAPH_DATA_DIR": str(tmp_path / "data"),
        "INTELGRAPH_OPERATOR_KEY": OPERATOR_KEY,
        "COLUMNS": "250",
    }

    unknown = run_cli(env, "jobs", "pause", "eval", "--reason", "backout")
    blank = run_cli(env, "jobs", "pause", "billing.usage_export", "--reason", "  ")

    assert unknown.exit_code == 1
    assert "JOB_NOT_FOUND" in unknown.output and "er.nightly_eval" in unknown.output
    assert blank.exit_code == 1 and "--reason" in blank.output
    assert not any(s.is_paused for s in services.jobs.list_jobs())
    assert [r for r in audit.list_records(services.engine) if r.action.startswith("job.")] == []
    services.engine.dispose()


# --- reconciliation holds no transaction while Prometheus answers -----------------------


class OpenTransactions:
    """The engine's connections inside a transaction right now (autocommit ones are not)."""

    def __init__(self, engine: Engine) -> None:
        self._open: set[int] = set()
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)

    def _begin(self, conn: Connection) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            self._open.add(id(conn))

    def _end(self, conn: Connection) -> None:
        self._open.discard(id(conn))

    def count(self) -> int:
        return len(self._open)


def idle_in_transaction(db_url: str) -> int:
    """Sessions of the database idle inside a transaction (PostgreSQL's own view)."""
    with psycopg.connect(db_url.replace("+psycopg", ""), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def fake_prometheus(on_query: Callable[[], None]) -> tuple[http.server.HTTPServer, str]:
    """Answers every query with an empty matrix, after calling ``on_query`` while the
    reconciler waits for the answer."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            on_query()
            body = json.dumps(
                {"status": "success", "data": {"resultType": "matrix", "result": []}}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def test_the_scheduled_reconciliation_holds_no_transaction_while_prometheus_answers(
    db_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    seen: list[tuple[int, int]] = []  # (open SQLAlchemy transactions, idle in transaction)
    tracker: list[OpenTransactions] = []

    def observe() -> None:
        in_pg = idle_in_transaction(db_url) if db_url.startswith("postgresql") else 0
        seen.append((tracker[0].count(), in_pg))

    server, url = fake_prometheus(observe)
    try:
        services = start_services(settings_for(db_url, tmp_path, prometheus_url=url), clock=clock)
        tracker.append(OpenTransactions(services.engine))
        tenant, _ = services.tenants.create_tenant(
            local_operator("test"), name="Recon", slug=f"r-{secrets.token_hex(4)}", plan="standard"
        )
        move_to(clock, at(2, 1, 31))  # the 1st's export and reconciliation are due

        ran = services.scheduler.run_due()
    finally:
        server.shutdown()

    assert "billing.reconcile" in ran
    assert seen, "Prometheus was never asked"
    assert set(seen) == {(0, 0)}, seen
    start, end = period_of(MARCH[1])
    assert services.reconciler.stored(tenant.id, start, end, local_operator("test")) is not None
    services.engine.dispose()
