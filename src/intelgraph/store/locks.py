"""Job locks: on PostgreSQL one replica at a time runs a job; SQLite has one process."""

from __future__ import annotations

import zlib

from sqlalchemy import Connection, text


def try_job_lock(conn: Connection, job_name: str) -> bool:
    """Take the job's transaction-scoped advisory lock if free; always True on SQLite."""
    if conn.dialect.name != "postgresql":
        return True
    lock_id = zlib.crc32(job_name.encode("utf-8"))
    return bool(
        conn.execute(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": lock_id}).scalar()
    )
