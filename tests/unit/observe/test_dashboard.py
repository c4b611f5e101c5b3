"""The Grafana dashboard (docs/grafana/flowrunner.json): valid JSON, and every metric it queries
is one `serve --metrics` exposes, so a renamed metric cannot leave a panel blank."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flowrunner.observe.edges import LinkAndQueue
from flowrunner.observe.metrics import Metrics

DASHBOARD = Path(__file__).parents[3] / "docs" / "grafana" / "flowrunner.json"
METRIC = re.compile(r"\b((?:flowrunner|process)_[a-z_]+)\b")
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum"),
}


def exposed() -> set[str]:
    """The names of every series the registry of `serve --metrics` can expose."""
    metrics = Metrics()
    link = type("Link", (), {"connected": True, "connections": 1})()
    metrics.registry.register(LinkAndQueue(link, None))
    return {
        family.name + suffix
        for family in metrics.registry.collect()
        for suffix in SUFFIXES.get(family.type, ("",))
    }


def queries(node: Any) -> Iterator[str]:
    """Every PromQL text of the dashboard: targets' `expr`, and the variables' queries."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition") and isinstance(value, str):
                yield value
            elif key == "query" and isinstance(value, dict) and "query" in value:
                yield str(value["query"])
            else:
                yield from queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from queries(item)


def test_every_metric_the_dashboard_queries_is_exposed() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    used = {name for text in queries(dashboard) for name in METRIC.findall(text)}
    assert len(used) >= 15  # the queries were found: calls, actions, ARI, timers, store …
    assert sorted(used - exposed()) == []


def test_every_flowrunner_metric_has_a_panel() -> None:
    used = {
        name for text in queries(json.loads(DASHBOARD.read_text())) for name in METRIC.findall(text)
    }
    ours = {name for name in exposed() if name.startswith("flowrunner_")}
    histograms_counted = {n for n in ours if n.endswith(("_count", "_sum"))}  # via their buckets
    assert sorted(ours - used - histograms_counted) == []


def test_the_queries_are_balanced() -> None:
    for text in queries(json.loads(DASHBOARD.read_text())):
        for left, right in ("()", "{}", "[]"):
            assert text.count(left) == text.count(right), text


def test_every_panel_has_a_unique_id_and_its_own_place() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    places = [(p["gridPos"]["x"], p["gridPos"]["y"]) for p in panels]
    assert len(set(places)) == len(places)
