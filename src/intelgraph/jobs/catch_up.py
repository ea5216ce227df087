"""Daily jobs as idempotent catch-ups: every day due since the last success runs, in order.

A daily job covers one UTC day and is due at ``at`` UTC on the day after (the usage export
of the 9th is due at 00:05 on the 10th). On start and on every tick the runner works out
from ``job_runs`` which days are due and not done — so a replica that was down, or a new
one, sees what the others did — takes the job's lock (jobs/locks.py) and runs them oldest
first, recording each attempt. A failed day is tried again ``retry_seconds`` later; the days
after it wait. The first day a job covers is the first one due after it was first scheduled
(kept in ``job_state``): a new install does not run days from before it existed.

``catches_up=False`` runs only the latest due day (the ER nightly evaluation judges the live
model, not a day: after an outage once is enough). ``after`` names a job whose day must have
succeeded first (reconciliation reads the export of its day).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine

from intelgraph.jobs import repository as repo
from intelgraph.jobs.locks import held_job_lock
from intelgraph.kernel.clock import Clock

log = logging.getLogger(__name__)

ONE_DAY = timedelta(days=1)
MAX_ERROR_CHARS = 2_000


def latest_due_day(now: datetime, at: time) -> date:
    """The newest day whose run is due at ``now`` (due at ``at`` UTC on the day after)."""
    since_midnight = timedelta(hours=at.hour, minutes=at.minute, seconds=at.second)
    return (now.astimezone(UTC) - since_midnight).date() - ONE_DAY


def days_to_run(
    first_day: date, last_success: date | None, latest: date, *, catches_up: bool
) -> list[date]:
    """The days still to run, oldest first."""
    start = first_day if last_success is None else max(first_day, last_success + ONE_DAY)
    if start > latest:
        return []
    if not catches_up:
        return [latest]
    return [start + ONE_DAY * n for n in range((latest - start).days + 1)]


class DailyRunner:
    """Runs one daily job's due days; ``run_if_due`` is called by its own thread."""

    def __init__(
        self,
        name: str,
        at: time,
        run: Callable[[date], object],
        engine: Engine,
        clock: Clock,
        *,
        catches_up: bool = True,
        after: str | None = None,
        retry_seconds: float = 60.0,
    ) -> None:
        self.name = name
        self.at = at
        self.catches_up = catches_up
        self.after = after
        self._run = run
        self._engine = engine
        self._clock = clock
        self._retry = timedelta(seconds=retry_seconds)
        self._first_day = latest_due_day(clock.now(), at) + ONE_DAY
        self._done_through: date | None = None  # nothing left up to this day (in memory)
        self._has_state = False
        self._retry_at: datetime | None = None
        self._busy = threading.Lock()

    @property
    def schedule(self) -> str:
        catch_up = "catches up" if self.catches_up else "latest day only"
        after = f", after {self.after}" if self.after else ""
        return f"daily at {self.at:%H:%M} UTC ({catch_up}{after})"

    def run_if_due(self) -> bool:
        """Run every due day not yet done, unless paused; True when a day was attempted."""
        with self._busy:
            now = self._clock.now()
            latest = latest_due_day(now, self.at)
            if self._done_through is not None and latest <= self._done_through:
                return False
            if self._retry_at is not None and now < self._retry_at:
                return False
            if not self._has_state:
                with self._engine.begin() as conn:
                    repo.ensure_state(conn, self.name, self._first_day, now)
                self._has_state = True
            with held_job_lock(self._engine, self.name) as is_held:
                if not is_held:
                    return False  # another replica is running its days; look next tick
                pending = self._pending(latest)
                if pending is None:
                    return False  # paused
                days, through = pending
                for number, day in enumerate(days):
                    if number and self._is_paused():
                        return True
                    if not self._attempt(day):
                        return True
                self._done_through = through
                return bool(days)

    def _pending(self, latest: date) -> tuple[list[date], date] | None:
        """The days to run and the day they reach; None while the job is paused."""
        with self._engine.connect() as conn:
            state = repo.state_of(conn, self.name)
            if state is not None and state.is_paused:
                return None
            first_day = state.first_day if state and state.first_day else self._first_day
            last_success = repo.last_success(conn, self.name)
            if self.after is not None:
                # A day runs once the job it follows has done it.
                ready = repo.last_success(conn, self.after)
                latest = min(latest, ready) if ready is not None else first_day - ONE_DAY
        days = days_to_run(first_day, last_success, latest, catches_up=self.catches_up)
        return days, latest

    def _is_paused(self) -> bool:
        with self._engine.connect() as conn:
            state = repo.state_of(conn, self.name)
        return state is not None and state.is_paused

    def _attempt(self, day: date) -> bool:
        with self._engine.begin() as conn:
            repo.start_run(conn, self.name, day, self._clock.now())
        try:
            self._run(day)
        except Exception as exc:
            log.exception("scheduled job failed", extra={"job": self.name, "day": str(day)})
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
            with self._engine.begin() as conn:
                repo.finish_run(conn, self.name, day, at=self._clock.now(), error=error)
            self._retry_at = self._clock.now() + self._retry
            return False
        with self._engine.begin() as conn:
            repo.finish_run(conn, self.name, day, at=self._clock.now())
        self._retry_at = None
        log.info("scheduled job done", extra={"job": self.name, "day": str(day)})
        return True
