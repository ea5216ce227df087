"""Time comes from a clock object so tests can move it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, never going backwards."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


def epoch_seconds_of(clock: Clock) -> Callable[[], float]:
    """Seconds since 1970 by ``clock``: ``time.time`` itself for the system clock.

    The gateway reads the wall clock several times per request (egress day, usage minute);
    ``clock.now().timestamp()`` builds a datetime each time, about a microsecond apiece. Any
    other clock (tests move a ManualClock) is asked through ``now()``.
    """
    if type(clock) is SystemClock:
        return time.time
    return lambda: clock.now().timestamp()


class ManualClock:
    """A clock that moves only when told to (for tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._mono = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds


def isoformat(moment: datetime) -> str:
    """RFC 3339 UTC with a ``Z`` suffix."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
