"""The Grafana dashboard shipped in platform/grafana charts every product metric."""

import json
import re
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

from apps.monitoring.metrics import LayerwatchCollector

DASHBOARD = Path(__file__).resolve().parents[2] / "platform" / "grafana" / "layerwatch.json"


def exposed_names(db) -> set[str]:
    names = set()
    for family in LayerwatchCollector().collect():
        suffix = {CounterMetricFamily: "_total", HistogramMetricFamily: "_bucket"}.get(type(family), "")
        names.add(family.name + suffix)
    return names


def test_it_has_a_panel_for_each_product_metric(db):
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = " ".join(t["expr"] for panel in dashboard["panels"] for t in panel["targets"])
    charted = set(re.findall(r"\blayerwatch_[a-z_]+", exprs))
    assert exposed_names(db) - charted == set()
    assert charted - exposed_names(db) == set()  # nothing charted that is not exposed


def test_it_asks_for_its_prometheus_data_source_on_import():
    dashboard = json.loads(DASHBOARD.read_text())
    (variable,) = dashboard["templating"]["list"]
    assert variable["type"] == "datasource" and variable["query"] == "prometheus"
    assert {panel["datasource"]["uid"] for panel in dashboard["panels"]} == {"${datasource}"}
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
