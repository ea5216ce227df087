"""The in-process scheduler of `serve`: periodic and daily jobs, each on its own thread.

Each job has a thread of its own, so a slow one (the ER nightly evaluation) never delays
another. Daily jobs catch up on every day they missed (jobs/catch_up.py); periodic jobs run
every so many seconds (jobs/periodic.py). Any job can be paused by itself (jobs/service.py);
the pause is in the database, so every replica honours it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from typing import Protocol

from sqlalchemy import Engine

from intelgraph.jobs.catch_up import DailyRunner
from intelgraph.jobs.periodic import PeriodicRunner
from intelgraph.kernel.clock import Clock

log = logging.getLogger(__name__)


class JobRunner(Protocol):
    name: str

    @property
    def schedule(self) -> str: ...

    def run_if_due(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A scheduled job as `intelgraph jobs list` shows it."""

    name: str
    schedule: str


class Scheduler:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        tick_seconds: float = 1.0,
        retry_seconds: float = 60.0,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._tick = tick_seconds
        self._retry_seconds = retry_seconds
        self._runners: dict[str, JobRunner] = {}
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def every(self, name: str, seconds: float, run: Callable[[], object]) -> None:
        """Run ``run`` every ``seconds`` (first run one interval after start)."""
        self._add(PeriodicRunner(name, seconds, run, self._engine, self._clock))

    def daily(
        self,
        name: str,
        at: time,
        run: Callable[[date], object],
        *,
        catches_up: bool = True,
        after: str | None = None,
    ) -> None:
        """Run ``run(day)`` for each UTC day, at ``at`` UTC on the day after, catching up
        on missed days (only the latest with ``catches_up=False``); with ``after``, a day
        runs once that job has done it."""
        if after is not None and after not in self._runners:
            raise ValueError(f"schedule {after} before {name}, which runs after it")
        self._add(
            DailyRunner(
                name,
                at,
                run,
                self._engine,
                self._clock,
                catches_up=catches_up,
                after=after,
                retry_seconds=self._retry_seconds,
            )
        )

    def jobs(self) -> list[JobSpec]:
        """Every scheduled job, in the order scheduled."""
        return [JobSpec(runner.name, runner.schedule) for runner in self._runners.values()]

    def run_due(self) -> list[str]:
        """Run every job that is due now, one after another in this thread; returns the
        names of those that ran (tests call this directly)."""
        return [runner.name for runner in self._runners.values() if self._tick_of(runner)]

    def start(self) -> None:
        """Start one thread per job; each checks its job at once, then every tick."""
        if self._threads:
            return
        self._stopping.clear()
        for runner in self._runners.values():
            thread = threading.Thread(
                target=self._loop, args=(runner,), name=f"job:{runner.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Start no further runs and wait (up to 30 s each) for the runs in flight."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []

    def _add(self, runner: JobRunner) -> None:
        if runner.name in self._runners:
            raise ValueError(f"a job named {runner.name} is already scheduled")
        self._runners[runner.name] = runner

    def _loop(self, runner: JobRunner) -> None:
        while not self._stopping.is_set():
            self._tick_of(runner)
            self._stopping.wait(self._tick)

    @staticmethod
    def _tick_of(runner: JobRunner) -> bool:
        try:
            return runner.run_if_due()
        except Exception:  # the database was away: the next tick tries again
            log.exception("scheduler tick failed", extra={"job": runner.name})
            return False
