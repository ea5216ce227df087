"""Periodic jobs: run every so many seconds on every replica, unless paused.

Jobs that must run on one replica only take their own lock (``store.locks.try_job_lock``);
gauge refreshes run everywhere, since each replica exports its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine

from intelgraph.jobs import repository as repo
from intelgraph.kernel.clock import Clock

log = logging.getLogger(__name__)


class PeriodicRunner:
    """Runs one job every ``seconds`` (the first run one interval after it is scheduled)."""

    def __init__(
        self, name: str, seconds: float, run: Callable[[], object], engine: Engine, clock: Clock
    ) -> None:
        self.name = name
        self._interval = timedelta(seconds=seconds)
        self._run = run
        self._engine = engine
        self._clock = clock
        self._next_due = clock.now() + self._interval
        self._busy = threading.Lock()

    @property
    def schedule(self) -> str:
        return f"every {self._interval.total_seconds():g} s"

    def run_if_due(self) -> bool:
        """Run the job if its time has come and it is not paused; True when it ran."""
        with self._busy:
            now = self._clock.now()
            if now < self._next_due:
                return False
            self._next_due = now + self._interval
            with self._engine.connect() as conn:
                state = repo.state_of(conn, self.name)
            if state is not None and state.is_paused:
                return False
            try:
                self._run()
            except Exception:
                log.exception("scheduled job failed", extra={"job": self.name})
            return True
