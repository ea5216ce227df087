"""The ER area keeps its shape (ADR 015): a thin facade over components, a pure engine, and
tables read only by the repository package; nothing calls back into the facade."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import intelgraph.er
from conftest import Harness

ER = Path(intelgraph.er.__file__).parent
NAMESPACES = (
    "training",
    "configs",
    "resolution",
    "clustering",
    "evaluation",
    "thresholds",
    "drift",
)


def _modules(under: Path) -> dict[str, set[str]]:
    """Path (relative to er/) -> the modules it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted(under.rglob("*.py")):
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[path.relative_to(ER).as_posix()] = imported
    return found


def test_only_the_repository_package_reads_tables() -> None:
    readers = [p for p, imported in _modules(ER).items() if "intelgraph.store.tables" in imported]

    assert readers, "the ER repository modules read store.tables"
    assert all(p.startswith("repository/") for p in readers), readers


def test_the_engine_does_no_database_work() -> None:
    engine = _modules(ER / "engine")
    forbidden = ("sqlalchemy", "intelgraph.store", "intelgraph.audit", "intelgraph.er.repository")
    offenders = {
        path: sorted(m for m in imported if m.startswith(forbidden))
        for path, imported in engine.items()
    }

    assert {f"engine/{m}.py" for m in ("blocking", "comparisons", "scoring", "clustering")} <= set(
        engine
    )
    assert {p: m for p, m in offenders.items() if m} == {}


def test_online_resolution_and_the_nightly_job_use_components_not_facade_callbacks() -> None:
    from intelgraph.er.components.drift import ERDrift
    from intelgraph.er.online import OnlineResolver
    from intelgraph.er.worker import ResolutionWorker

    importers = [
        path
        for path, imported in _modules(ER).items()
        if "intelgraph.er.service" in imported and path != "service.py"
    ]

    assert importers == []
    for built in (OnlineResolver, ResolutionWorker, ERDrift):
        hints = [str(p.annotation) for p in inspect.signature(built).parameters.values()]
        assert not [h for h in hints if "Callable" in h], (built.__name__, hints)


def test_the_facade_offers_each_namespace_as_a_component_of_its_own_module(
    harness: Harness,
) -> None:
    er = harness.services.er

    for name in NAMESPACES:
        assert type(getattr(er, name)).__module__ == f"intelgraph.er.components.{name}", name
    public = [m for m, _ in inspect.getmembers(type(er)) if not m.startswith("_")]
    assert sorted(public) == ["start", "stop"]
