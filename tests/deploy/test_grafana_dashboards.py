"""The shipped Grafana dashboards parse, their queries are valid PromQL (checked by promtool)
and name only metrics the app exports; the reconciliation dashboard shows deltas and spend."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .metric_names import exposed_metric_names, metrics_named_in

GRAFANA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARDS = sorted(GRAFANA_DIR.glob("*.json"))
# Grafana's template variables, as Prometheus would receive them.
VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1d",
    "$tenant": ".*",
    "$source": ".*",
    "$version": ".*",
}


def queries_of(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression of the dashboard's panels (rows included)."""
    panels = list(dashboard.get("panels", []))
    for panel in list(panels):
        panels.extend(panel.get("panels", []))
    return [t["expr"] for p in panels for t in p.get("targets", []) if t.get("expr")]


def variable_queries_of(dashboard: dict[str, Any]) -> list[str]:
    return [v["query"] for v in dashboard.get("templating", {}).get("list", []) if v.get("query")]


def as_prometheus_sees_it(expr: str) -> str:
    for name in sorted(VARIABLES, key=len, reverse=True):
        expr = expr.replace(name, VARIABLES[name])
    return expr


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_queries_name_metrics_the_app_exports(path: Path) -> None:
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    exposed = exposed_metric_names()
    expressions = queries_of(dashboard) + variable_queries_of(dashboard)
    assert expressions
    for expr in expressions:
        named = metrics_named_in(expr)
        assert named, f"{expr!r} names no intelgraph metric"
        assert named <= exposed, f"{expr!r}: unknown {sorted(named - exposed)}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_queries_are_valid_promql(path: Path, tmp_path: Path) -> None:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not on PATH; run `make services` (installs Debian's prometheus)")
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    rules = [
        {"record": f"dashboard_query_{n}", "expr": as_prometheus_sees_it(expr)}
        for n, expr in enumerate(queries_of(dashboard))
    ]
    assert not any(re.search(r"\$\w", r["expr"]) for r in rules), "unknown template variable"
    rule_file = tmp_path / "dashboard_rules.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": path.stem, "rules": rules}]}))
    checked = subprocess.run(
        [binary, "check", "rules", str(rule_file)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_reconciliation_dashboard_shows_deltas_by_source_and_spend_per_tenant() -> None:
    dashboard = json.loads((GRAFANA_DIR / "billing-reconciliation.json").read_text("utf-8"))
    queries = queries_of(dashboard)
    deltas = [q for q in queries if "intelgraph_recon_delta_ratio" in q]
    assert deltas and all(re.search(r"by \(tenant, meter, source\)", q) for q in deltas)
    for counter in (
        "intelgraph_api_calls_total",
        "intelgraph_ingest_events_total",
        "intelgraph_egress_bytes_total",
    ):
        assert any(counter in q and "by (tenant)" in q for q in queries), counter
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
