"""The jobs' tables: ``job_state`` (first day, pause) and ``job_runs`` (one row per day)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from intelgraph.store.engine import as_utc
from intelgraph.store.tables import job_runs, job_state

RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class JobState:
    job: str
    first_day: date | None
    is_paused: bool
    paused_by: str | None
    pause_reason: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class JobRun:
    job: str
    day: date
    status: str
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    error: str | None


def state_of(conn: Connection, job: str) -> JobState | None:
    row = conn.execute(select(job_state).where(job_state.c.job == job)).first()
    return None if row is None else _state(row)


def all_states(conn: Connection) -> dict[str, JobState]:
    return {row.job: _state(row) for row in conn.execute(select(job_state))}


def ensure_state(conn: Connection, job: str, first_day: date | None, at: datetime) -> None:
    """Create the job's row if absent; give it ``first_day`` if it has none yet."""
    values = {"job": job, "first_day": first_day, "is_paused": False, "updated_at": at}
    conn.execute(_insert_if_absent(conn.dialect.name).values(values))
    if first_day is not None:
        conn.execute(
            update(job_state)
            .where(job_state.c.job == job, job_state.c.first_day.is_(None))
            .values(first_day=first_day)
        )


def set_pause(
    conn: Connection, job: str, *, is_paused: bool, actor: str, reason: str, at: datetime
) -> None:
    ensure_state(conn, job, None, at)
    conn.execute(
        update(job_state)
        .where(job_state.c.job == job)
        .values(is_paused=is_paused, paused_by=actor, pause_reason=reason, updated_at=at)
    )


def last_success(conn: Connection, job: str) -> date | None:
    """The newest day the job succeeded at (days run oldest first, so all before it did)."""
    found = conn.execute(
        select(func.max(job_runs.c.day)).where(
            job_runs.c.job == job, job_runs.c.status == SUCCEEDED
        )
    ).scalar()
    return _day(found) if found is not None else None


def start_run(conn: Connection, job: str, day: date, at: datetime) -> None:
    """Record an attempt at ``day`` as running (a retry counts one more attempt)."""
    key = (job_runs.c.job == job) & (job_runs.c.day == day)
    attempts = conn.execute(select(job_runs.c.attempts).where(key)).scalar()
    values = {"status": RUNNING, "started_at": at, "finished_at": None, "error": None}
    if attempts is None:
        conn.execute(insert(job_runs).values(job=job, day=day, attempts=1, **values))
    else:
        conn.execute(update(job_runs).where(key).values(attempts=attempts + 1, **values))


def finish_run(
    conn: Connection, job: str, day: date, *, at: datetime, error: str | None = None
) -> None:
    """Record the attempt at ``day`` as succeeded, or failed with ``error``."""
    conn.execute(
        update(job_runs)
        .where(job_runs.c.job == job, job_runs.c.day == day)
        .values(status=SUCCEEDED if error is None else FAILED, finished_at=at, error=error)
    )


def runs_of(conn: Connection, job: str) -> list[JobRun]:
    """Every recorded day of the job, oldest first."""
    rows = conn.execute(select(job_runs).where(job_runs.c.job == job).order_by(job_runs.c.day))
    return [_run(row) for row in rows]


def latest_runs(conn: Connection) -> dict[str, JobRun]:
    """Each job's run of its newest recorded day."""
    newest = (
        select(job_runs.c.job, func.max(job_runs.c.day).label("day"))
        .group_by(job_runs.c.job)
        .subquery()
    )
    rows = conn.execute(
        select(job_runs).join(
            newest, (job_runs.c.job == newest.c.job) & (job_runs.c.day == newest.c.day)
        )
    )
    return {row.job: _run(row) for row in rows}


def _insert_if_absent(dialect: str) -> Any:
    if dialect == "sqlite":
        return sqlite.insert(job_state).on_conflict_do_nothing(index_elements=["job"])
    if dialect == "postgresql":
        return postgresql.insert(job_state).on_conflict_do_nothing(index_elements=["job"])
    raise ValueError(f"job state is kept on sqlite and postgresql, not {dialect}")


def _state(row: Any) -> JobState:
    return JobState(
        row.job,
        None if row.first_day is None else _day(row.first_day),
        bool(row.is_paused),
        row.paused_by,
        row.pause_reason,
        as_utc(row.updated_at),
    )


def _run(row: Any) -> JobRun:
    return JobRun(
        row.job,
        _day(row.day),
        row.status,
        int(row.attempts),
        as_utc(row.started_at),
        None if row.finished_at is None else as_utc(row.finished_at),
        row.error,
    )


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value))
