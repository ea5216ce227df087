"""The in-process scheduler of `serve`: periodic and daily jobs on one background thread.

Jobs that must run on one replica only take a PostgreSQL advisory lock themselves
(`store.locks.try_job_lock`); the scheduler just calls them on time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from intelgraph.kernel.clock import Clock

log = logging.getLogger(__name__)


@dataclass
class _Job:
    name: str
    run: Callable[[], object]
    next_due: datetime
    interval: timedelta | None = None  # periodic
    daily_at: time | None = None  # daily, UTC


class Scheduler:
    def __init__(self, clock: Clock, tick_seconds: float = 1.0) -> None:
        self._clock = clock
        self._tick = tick_seconds
        self._jobs: list[_Job] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def every(self, name: str, seconds: float, run: Callable[[], object]) -> None:
        """Run ``run`` every ``seconds`` (first run one interval after start)."""
        interval = timedelta(seconds=seconds)
        self._jobs.append(_Job(name, run, self._clock.now() + interval, interval=interval))

    def daily(self, name: str, at: time, run: Callable[[], object]) -> None:
        """Run ``run`` once a day at ``at`` (UTC)."""
        self._jobs.append(_Job(name, run, _next_daily(self._clock.now(), at), daily_at=at))

    def run_due(self) -> list[str]:
        """Run every job that is due now; returns their names (tests call this directly)."""
        now = self._clock.now()
        ran = []
        for job in self._jobs:
            if job.next_due > now:
                continue
            try:
                job.run()
            except Exception:
                log.exception("scheduled job failed", extra={"job": job.name})
            job.next_due = (
                now + job.interval
                if job.interval is not None
                else _next_daily(now, job.daily_at or time(0, 0))
            )
            ran.append(job.name)
        return ran

    def start(self) -> None:
        if self._thread is None and self._jobs:
            self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        while not self._stopping.wait(self._tick):
            self.run_due()


def _next_daily(now: datetime, at: time) -> datetime:
    candidate = datetime.combine(now.date(), at, tzinfo=now.tzinfo)
    return candidate if candidate > now else candidate + timedelta(days=1)
