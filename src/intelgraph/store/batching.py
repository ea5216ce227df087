"""Splitting long id lists for ``IN (...)`` clauses (SQLite and PostgreSQL alike)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

CHUNK = 500  # ids per IN (...) list


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
