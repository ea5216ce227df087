"""Run every benchmark script in bench/ (and bench/er/) in sequence, then summarise.

Each script runs as its own subprocess with ``--quick`` when it accepts that flag, under a
header naming it; a script that fails does not stop the others. Benchmarks print figures
and never fail on time, so a failure here means a script crashed. Exit status: 0 when every
script ran to the end, 1 otherwise.

Run: ``make bench`` or ``.venv/bin/python bench/run_all.py [--full] [--only NAME ...]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
NOT_SCRIPTS = {"harness.py", "run_all.py", "__init__.py", "conftest.py"}
FIRST = ("bench_ingest.py", "bench_entity_load.py", "bench_graph_queries.py")
LAST = ("bench_hostile.py",)  # an attack that outlives its timeout must not slow the others


@dataclass
class Outcome:
    script: str
    returncode: int
    seconds: float
    flags: list[str]


def discover() -> list[Path]:
    """bench/*.py and bench/er/*.py that run as programs (have a ``__main__`` guard)."""
    found = []
    for folder in (BENCH, BENCH / "er"):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.py")):
            if path.name in NOT_SCRIPTS or path.name.startswith("_"):
                continue
            if "__main__" in path.read_text(encoding="utf-8", errors="replace"):
                found.append(path)
    order = {name: n for n, name in enumerate(FIRST)}
    return sorted(
        found,
        key=lambda p: (p.name in LAST, p.parent != BENCH, order.get(p.name, len(FIRST)), p.name),
    )


def accepts_quick(path: Path) -> bool:
    return "--quick" in path.read_text(encoding="utf-8", errors="replace")


def run(path: Path, full: bool) -> Outcome:
    name = str(path.relative_to(BENCH.parent))
    flags = [] if full or not accepts_quick(path) else ["--quick"]
    print("\n" + "#" * 78)
    print(f"# {name} {' '.join(flags)}".rstrip())
    print(f"# cores: {os.cpu_count()}   started {time.strftime('%H:%M:%S')}")
    print("#" * 78, flush=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(path.parent), str(BENCH), env.get("PYTHONPATH", "")) if part
    )
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            [sys.executable, str(path), *flags], cwd=BENCH.parent, env=env, check=False
        )
        code = completed.returncode
    except OSError as exc:
        print(f"could not start: {exc}")
        code = 127
    return Outcome(name, code, time.perf_counter() - started, flags)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="do not pass --quick")
    parser.add_argument("--only", nargs="*", help="script names (or parts of them) to run")
    args = parser.parse_args()
    scripts = discover()
    if args.only:
        scripts = [p for p in scripts if any(part in p.name for part in args.only)]
    print(f"running {len(scripts)} bench script(s) with {os.cpu_count()} cores")
    outcomes = [run(path, args.full) for path in scripts]
    print("\n" + "=" * 78)
    print("summary")
    print("=" * 78)
    for outcome in outcomes:
        state = "ok" if outcome.returncode == 0 else f"FAILED (exit {outcome.returncode})"
        flags = " ".join(outcome.flags)
        print(f"  {outcome.script:<40} {flags:<8} {outcome.seconds:7.1f} s  {state}")
    failed = [o for o in outcomes if o.returncode != 0]
    print(f"{len(outcomes) - len(failed)} ran to the end, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
