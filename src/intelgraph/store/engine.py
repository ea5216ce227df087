"""Engine factory: SQLite (WAL) by default, PostgreSQL through psycopg 3."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool


def create_store_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and their folder created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        connect_args = {"check_same_thread": False, "timeout": 30}
        if not database or database == ":memory:":
            # One shared connection, or every checkout would see a new empty database.
            engine = create_engine(url, connect_args=connect_args, poolclass=StaticPool)
            event.listen(engine, "connect", _configure_sqlite)
            return engine
        Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args=connect_args, pool_size=8, max_overflow=16)
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    # Sessions in UTC, whatever the server's TimeZone: stored times are compared as UTC.
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        # prepare_threshold None: server-side prepared statements froze bad generic plans
        # for IN-lists on tables not yet analysed (1 s per ingest batch, measured).
        connect_args={"options": "-c timezone=UTC", "prepare_threshold": None},
    )


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer; NORMAL sync stays durable across process crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache (default 2 MiB)
    cursor.close()


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def as_utc(moment: datetime) -> datetime:
    """Stored times come back naive from SQLite: they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
