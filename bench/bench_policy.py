"""What a policy decision costs: uncached (a regopy evaluation) and cached (a dict lookup).

Prints figures; never passes or fails. Run: ``.venv/bin/python bench/bench_policy.py``.
"""

from __future__ import annotations

import statistics
import time

from intelgraph.kernel.tenancy import Principal
from intelgraph.policy import Action, PolicyEngine

UNCACHED_INPUTS = 100
UNCACHED_ROUNDS = 5
CACHED_CALLS = 1_000_000


def distinct_principals(count: int) -> list[Principal]:
    """``count`` tenant principals that never share a cache key."""
    return [
        Principal(tenant_id=f"tenant-{n:04d}", key_id=f"key-{n}", name="bench", roles=("analyst",))
        for n in range(count)
    ]


def uncached_us_per_call() -> list[float]:
    """µs per decision on fresh engines, where every input is new to the cache."""
    principals = distinct_principals(UNCACHED_INPUTS)
    figures = []
    for _ in range(UNCACHED_ROUNDS):
        engine = PolicyEngine()
        started = time.perf_counter()
        for principal in principals:
            engine.decide(principal, Action.INGEST_WRITE, "entity")
        figures.append((time.perf_counter() - started) / UNCACHED_INPUTS * 1e6)
    return figures


def cached_us_per_call() -> float:
    """µs per decision when the input has been decided before."""
    engine = PolicyEngine()
    principal = distinct_principals(1)[0]
    engine.decide(principal, Action.INGEST_WRITE, "entity")
    decide = engine.decide
    action = Action.INGEST_WRITE
    started = time.perf_counter()
    for _ in range(CACHED_CALLS):
        decide(principal, action, "entity")
    return (time.perf_counter() - started) / CACHED_CALLS * 1e6


def compile_ms() -> float:
    """ms to build an engine: read, parse and compile the packaged policy."""
    started = time.perf_counter()
    PolicyEngine()
    return (time.perf_counter() - started) * 1e3


def main() -> None:
    uncached = uncached_us_per_call()
    cached = cached_us_per_call()
    median = statistics.median(uncached)
    rows = [
        ("engine construction (compile authz.rego)", f"{compile_ms():10.2f} ms"),
        (
            f"uncached decision, median of {UNCACHED_ROUNDS} rounds x {UNCACHED_INPUTS} inputs",
            f"{median:10.1f} µs/call  (min {min(uncached):.1f}, max {max(uncached):.1f})",
        ),
        (f"cached decision, {CACHED_CALLS:,} calls", f"{cached:10.3f} µs/call"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, figure in rows:
        print(f"{label:<{width}}  {figure}")
    print(f"a cached decision is {median / cached:,.0f}x cheaper than an uncached one")


if __name__ == "__main__":
    main()
