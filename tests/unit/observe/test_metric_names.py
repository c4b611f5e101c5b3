"""The metric names the docs and the Grafana dashboard use are the ones `serve --metrics`
exposes: docs/metrics.md names each flowrunner metric, and every metric the dashboard
(docs/grafana/flowrunner.json, valid JSON) queries exists, so a renamed metric cannot leave a
panel blank or a line of the docs wrong."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from flowrunner.observe.edges import LinkAndQueue
from flowrunner.observe.metrics import Metrics

DOCS = Path(__file__).parents[3] / "docs"
DASHBOARD = DOCS / "grafana" / "flowrunner.json"
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


def documented() -> set[str]:
    """The metrics docs/metrics.md's table lists (its rows' first cell)."""
    rows = re.findall(
        r"^\| `((?:flowrunner|process)_[a-z_]+)`", (DOCS / "metrics.md").read_text(), re.M
    )
    return set(rows)


def test_the_docs_list_every_flowrunner_metric_and_no_other() -> None:
    series = exposed()
    families = {
        name.removesuffix("_bucket")
        for name in series
        if name.startswith("flowrunner_") and not name.endswith(("_count", "_sum"))
    }
    assert sorted(documented() - series - families) == []
    assert sorted(families - documented()) == []


def test_the_docs_yaml_files_parse() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", (DOCS / "metrics.md").read_text(), re.S)
    assert len(blocks) == 3  # the probes, the scrape config, the rules
    for block in blocks:
        assert isinstance(YAML(typ="safe").load(block), dict), block
    rules = YAML(typ="safe").load(blocks[2])["groups"][0]["rules"]
    assert [rule["alert"] for rule in rules] == [
        "FlowrunnerNotConnected",
        "FlowrunnerCallsFailing",
        "FlowrunnerTimersLate",
        "FlowrunnerStoreNotWritable",
    ]


def test_every_metric_the_docs_query_is_exposed() -> None:
    text = (DOCS / "metrics.md").read_text()
    blocks = re.findall(r"```(\w*)\n(.*?)```", text, re.S)
    used = {name for lang, block in blocks if lang != "sh" for name in METRIC.findall(block)}
    assert "flowrunner_timer_lateness_seconds_bucket" in used
    assert sorted(used - exposed()) == []
