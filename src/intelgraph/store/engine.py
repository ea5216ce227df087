"""Engine factory: SQLite (WAL) by default, PostgreSQL through psycopg 3."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import StaticPool

from intelgraph.kernel.private_files import create_private_file, make_private_dir, tighten

log = logging.getLogger(__name__)

# Page size of new SQLite files (an existing file keeps its own). A commit writes each page
# it dirtied to the WAL with its own write calls, and an ingest dirties a leaf of the search
# term index per distinct term wherever it is: with 4 KiB pages the commit of 1,000 entities
# cost 14 ms of CPU, with 16 KiB pages 8 ms (bench/bench_ingest.py).
SQLITE_PAGE_SIZE = 16_384
# In-line checkpoints are a backstop (processes without a WalCheckpointer, e.g. the CLI):
# 4,000 pages is 64 MiB of WAL at 16 KiB pages; the WAL file is cut back to 64 MiB after.
SQLITE_AUTOCHECKPOINT_PAGES = 4_000
SQLITE_WAL_SIZE_LIMIT = 64 * 1024 * 1024


def create_store_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and their folder created
    (files 0600, a new folder 0700)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        connect_args = {"check_same_thread": False, "timeout": 30}
        if not database or database == ":memory:":
            # One shared connection, or every checkout would see a new empty database.
            engine = create_engine(
                url,
                connect_args=connect_args,
                poolclass=StaticPool,
                json_deserializer=load_json,
            )
            event.listen(engine, "connect", _configure_sqlite)
            return engine
        _prepare_private_database(Path(database).expanduser().resolve())
        engine = create_engine(
            url,
            connect_args=connect_args,
            pool_size=8,
            max_overflow=16,
            json_deserializer=load_json,
        )
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    # Sessions in UTC, whatever the server's TimeZone: stored times are compared as UTC.
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        json_deserializer=load_json,
        # prepare_threshold None: server-side prepared statements froze bad generic plans
        # for IN-lists on tables not yet analysed (1 s per ingest batch, measured).
        connect_args={"options": "-c timezone=UTC", "prepare_threshold": None},
    )
    _ping_when_idle(engine)
    return engine


# A pooled connection idle longer than this is pinged before use (a server restart or a
# dropped link shows there, and the pool swaps the connection). A busy connection is not:
# a ping on every checkout (``pool_pre_ping``) was a second round trip on every read.
IDLE_PING_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:  # any failure means the connection is gone: replace it
            raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


def one_statement_reads(engine: Engine) -> Engine:
    """The same pool, for reads that run one statement (``entity(id)``): in autocommit, so a
    read is one round trip and one transaction on PostgreSQL, with no BEGIN and ROLLBACK
    around it. Reads of several statements that must agree keep a transaction."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def load_json(text: str | bytes) -> Any:
    """JSON columns decoded by orjson (ten times the standard library's speed: reading a page
    of 500 entities with their attributes spent a third of its time in ``json.loads``); a text
    orjson refuses (``NaN`` written by an older release) falls back to the standard library."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _prepare_private_database(path: Path) -> None:
    """Create the database file 0600 before SQLite opens it: SQLite gives its -wal and -shm
    files the database file's mode. Files of an older install are made private too."""
    make_private_dir(path.parent)
    if create_private_file(path):
        return
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if tighten(file):
                log.warning("made %s private (mode 0600)", file)
        except PermissionError:  # another user's file: SQLite decides whether we may use it
            log.warning("cannot make %s private: not its owner", file)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Before journal_mode: a new file takes its page size when WAL mode first writes it.
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    # WAL: readers never block the writer; NORMAL sync stays durable across process crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
    cursor.execute(f"PRAGMA journal_size_limit={SQLITE_WAL_SIZE_LIMIT}")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache (default 2 MiB)
    cursor.close()


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def as_utc(moment: datetime) -> datetime:
    """Stored times come back naive from SQLite: they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class WalCheckpointer:
    """Checkpoints a SQLite file's WAL from a background thread (a no-op on PostgreSQL).

    Left to SQLite, the commit that crosses the autocheckpoint size copies the WAL into the
    database and waits for two fsyncs (10-30 ms on this machine) before it is acknowledged.
    Here a commit only wakes the thread; the PASSIVE checkpoint then runs beside the next
    request's parsing and validation, never blocking readers or the writer.
    """

    def __init__(self, engine: Engine, coalesce_seconds: float = 0.05) -> None:
        self._engine = engine
        self._coalesce = coalesce_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0
        self.commits_seen = 0  # commits that woke the thread (counted in the committing one)

    @property
    def is_active(self) -> bool:
        return self._engine.dialect.name == "sqlite" and self._engine.url.database not in (
            None,
            "",
            ":memory:",
        )

    def start(self) -> None:
        """Start the thread and listen for commits (idempotent; nothing on PostgreSQL)."""
        if not self.is_active or self._thread is not None:
            return
        self._stopping.clear()
        event.listen(self._engine, "commit", self._on_commit)
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening, finish with one last checkpoint and end the thread."""
        if self._thread is None:
            return
        event.remove(self._engine, "commit", self._on_commit)
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self._thread = None
        self.checkpoint()

    def checkpoint(self) -> None:
        """Copy committed WAL frames into the database file now (PASSIVE: never waits)."""
        try:
            with self._engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()
            self.checkpoints += 1
        except Exception:  # the backstop autocheckpoint still runs; never kill the thread
            log.exception("WAL checkpoint failed")

    @property
    def is_running(self) -> bool:
        """Whether the checkpoint thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _on_commit(self, _conn: Any) -> None:
        self.commits_seen += 1
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stopping.is_set():
                return
            # The commit that woke us is still writing its frames; let it (and any other
            # commit just behind it) finish, so one checkpoint takes them all.
            self._stopping.wait(self._coalesce)
            self.checkpoint()
