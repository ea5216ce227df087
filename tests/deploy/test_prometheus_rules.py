"""The shipped Prometheus rule files load, do what their unit tests say, and watch metrics
the app really exports. Runs Debian's promtool (installed by `make services`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .metric_names import exposed_metric_names, metrics_named_in

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULE_FILES = sorted(p for p in PROMETHEUS_DIR.glob("*.yml") if p.name != "prometheus.yml")
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*_test.yml"))
# Unit tests that show a known defect of a rule (the file says which and how to fix it).
KNOWN_FAILING: dict[str, str] = {}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not on PATH; run `make services` (installs Debian's prometheus)")
    return subprocess.run(
        [binary, *args], capture_output=True, text=True, timeout=120, cwd=PROMETHEUS_DIR
    )


def rules_of(path: Path) -> list[dict[str, str]]:
    groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_there_are_rule_files_and_unit_tests() -> None:
    assert {p.name for p in RULE_FILES} >= {"alerts.yml", "er_alerts.yml", "billing_alerts.yml"}
    assert RULE_TESTS


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.name)
def test_rule_file_passes_promtool_check(rule_file: Path) -> None:
    checked = promtool("check", "rules", str(rule_file))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_prometheus_config_loads_every_rule_file() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    assert sorted(config["rule_files"]) == sorted(p.name for p in RULE_FILES)
    checked = promtool("check", "config", str(PROMETHEUS_DIR / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.name)
def test_every_alert_of_a_rule_file_has_a_unit_test(rule_file: Path) -> None:
    tested: set[str] = set()
    for test_file in RULE_TESTS:
        spec = yaml.safe_load(test_file.read_text(encoding="utf-8"))
        if f"../{rule_file.name}" in spec["rule_files"]:
            for case in spec["tests"]:
                tested.update(t["alertname"] for t in case.get("alert_rule_test", []))
    alerts = {rule["alert"] for rule in rules_of(rule_file) if "alert" in rule}
    assert alerts - tested == set()


@pytest.mark.parametrize(
    "test_file",
    [
        pytest.param(p, marks=pytest.mark.xfail(reason=KNOWN_FAILING[p.name], strict=True))
        if p.name in KNOWN_FAILING
        else p
        for p in RULE_TESTS
    ],
    ids=lambda p: p.name,
)
def test_rule_unit_tests_pass(test_file: Path) -> None:
    tested = promtool("test", "rules", str(test_file))
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=lambda p: p.name)
def test_rules_watch_metrics_the_app_exports(rule_file: Path) -> None:
    exposed = exposed_metric_names()
    for rule in rules_of(rule_file):
        named = metrics_named_in(rule["expr"])
        assert named, f"{rule.get('alert') or rule.get('record')} names no intelgraph metric"
        assert named <= exposed, f"{rule.get('alert')}: unknown {sorted(named - exposed)}"
