"""The metric names an IntelGraph replica exposes on /metrics, from its own registry."""

from __future__ import annotations

import re

from intelgraph.obs.metrics import Metrics

SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}
# Our metrics all start with intelgraph_; a token so named in PromQL is a metric name.
INTELGRAPH_METRIC = re.compile(r"\bintelgraph_[a-zA-Z0-9_:]+")


def exposed_metric_names() -> set[str]:
    """Every series name an app instance can expose (labelled families included)."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def metrics_named_in(promql: str) -> set[str]:
    # recording-rule style names (level:metric:operation) are not app metrics
    return {name for name in INTELGRAPH_METRIC.findall(promql) if ":" not in name}
