"""The scheduler's lock per job: one replica at a time runs a daily job's days.

A PostgreSQL session-level advisory lock, taken on a connection in autocommit mode: holding
it keeps no transaction open while the job runs (a job may wait minutes on another service;
reconciliation asks Prometheus). SQLite has one process, whose job threads are one per job:
the lock is always held there.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator

from sqlalchemy import Engine, text

LOCK_PREFIX = "scheduler:"
"""Distinct from the jobs' own transaction locks (store/locks.py), which they still take."""


def lock_id(job_name: str) -> int:
    return zlib.crc32(f"{LOCK_PREFIX}{job_name}".encode())


@contextlib.contextmanager
def held_job_lock(engine: Engine, job_name: str) -> Iterator[bool]:
    """Yields True while this process holds the job's lock, False if another one does."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        key = {"id": lock_id(job_name)}
        is_held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:id)"), key).scalar())
        try:
            yield is_held
        finally:
            if is_held:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), key)
