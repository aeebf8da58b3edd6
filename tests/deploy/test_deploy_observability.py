"""deploy/prometheus and deploy/grafana: rules that Prometheus accepts and that fire when they
should, and dashboards and rules that only query metrics (and labels) the services export.

The exported metrics are read from the metric definitions themselves (every ``ragline_*``
package's ``metrics`` module, plus the shared ones), so a metric added or renamed later is
picked up without touching this file, and a dashboard left behind by a rename fails here.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus"
GRAFANA = REPO / "deploy" / "grafana"
DASHBOARDS = ("ragline-overview", "ragline-ingestion", "ragline-query", "ragline-tenant")
PROMTOOL_MISSING = (
    "promtool is not installed: run deploy/local/install-tools.sh "
    "(Debian: apt-get install prometheus)"
)
SCRAPE_LABELS = frozenset({"job", "instance", "component"})
"""Labels Prometheus adds at scrape time (deploy/prometheus/prometheus.yml)."""
NON_RAGLINE_METRICS = frozenset({"up"})

_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "gauge": ("",),
}
_METRIC = re.compile(r"\b(ragline_[a-z0-9_]+)\b(\s*\{(?P<selector>[^}]*)\})?")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


@dataclass(frozen=True)
class Exported:
    family: str
    labels: frozenset[str]


def _metric_modules() -> Iterator[str]:
    yield "ragline_common.observability.metrics"
    for module in pkgutil.iter_modules():
        if module.ispkg and module.name.startswith("ragline_"):
            yield f"{module.name}.metrics"


@pytest.fixture(scope="module")
def exported() -> dict[str, Exported]:
    """Sample name (``ragline_http_requests_total``, ``..._bucket``) -> family and labels."""
    samples: dict[str, Exported] = {}
    for name in _metric_modules():
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        for value in vars(module).values():
            if not isinstance(value, MetricWrapperBase):
                continue
            family = value._name
            info = Exported(family, frozenset(value._labelnames))
            for suffix in _SUFFIXES[value._type]:
                samples[f"{family}{suffix}"] = info
    assert "ragline_http_requests_total" in samples, "shared metrics not found"
    return samples


def _dashboard(uid: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((GRAFANA / "dashboards" / f"{uid}.json").read_text())
    return loaded


def _dashboard_expressions() -> list[tuple[str, str]]:
    found = []
    for path in sorted((GRAFANA / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            found.extend(
                (f"{path.name}: {panel['title']}", target["expr"]) for target in panel["targets"]
            )
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("type") == "query":
                found.append((f"{path.name}: ${variable['name']}", variable["definition"]))
    return found


def _rule_expressions() -> list[tuple[str, str]]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [
        (f"alerts.yml: {rule['alert']}", rule["expr"])
        for group in rules["groups"]
        for rule in group["rules"]
    ]


def _problems(expr: str, exported: dict[str, Exported]) -> list[str]:
    """Unknown metrics, and labels a selector or grouping names that no used metric has."""
    problems: list[str] = []
    used: list[Exported] = []
    for match in _METRIC.finditer(expr):
        name = match.group(1)
        if name not in exported:
            problems.append(f"{name} is not exported by any service")
            continue
        info = exported[name]
        used.append(info)
        allowed = info.labels | SCRAPE_LABELS | ({"le"} if name.endswith("_bucket") else set())
        for label in _MATCHER.findall(match.group("selector") or ""):
            if label not in allowed:
                problems.append(f"{name} has no label {label!r}")
    everything = set(SCRAPE_LABELS).union(*(info.labels for info in used), {"le"})
    for grouping in _GROUPING.findall(expr):
        for label in (part.strip() for part in grouping.split(",")):
            if label and label not in everything:
                problems.append(f"grouping by {label!r}, which no metric here has")
    return problems


def test_the_four_dashboards_are_provisioned() -> None:
    found = {path.stem for path in (GRAFANA / "dashboards").glob("*.json")}
    assert set(DASHBOARDS) <= found
    uids = [_dashboard(uid)["uid"] for uid in found]
    assert sorted(uids) == sorted(found), "each dashboard's uid must match its file name"
    datasources = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "datasources.yaml").read_text()
    )
    provisioned = {source["uid"] for source in datasources["datasources"]}
    for uid in found:
        for panel in _dashboard(uid)["panels"]:
            assert panel["targets"], f"{uid}: {panel['title']} queries nothing"
            assert panel["datasource"]["uid"] in provisioned, f"{uid}: {panel['title']}"


def test_the_tenant_dashboard_filters_every_panel_by_tenant() -> None:
    dashboard = _dashboard("ragline-tenant")
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["tenant"]
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            assert 'tenant="$tenant"' in target["expr"], panel["title"]


@pytest.mark.parametrize(
    ("where", "expr"), [*_dashboard_expressions(), *_rule_expressions()], ids=lambda x: x[:60]
)
def test_queries_use_only_exported_metrics_and_labels(
    exported: dict[str, Exported], where: str, expr: str
) -> None:
    names = {m.group(1) for m in _METRIC.finditer(expr)}
    others = {name for name in NON_RAGLINE_METRICS if re.search(rf"\b{name}\b", expr)}
    assert names or others, f"{where}: queries no metric a Ragline target exports"
    assert not _problems(expr, exported), f"{where}: {_problems(expr, exported)}"


def test_the_checker_rejects_unknown_metrics_and_labels(exported: dict[str, Exported]) -> None:
    """Guards the test above: it must be able to fail."""
    assert _problems("rate(ragline_http_requests_total{route='/x'}[5m])", exported) == []
    assert _problems("rate(ragline_no_such_thing_total[5m])", exported)
    assert _problems('sum(rate(ragline_http_requests_total{document_id="d"}[5m]))', exported)
    assert _problems("sum by (job_id) (rate(ragline_jobs_total[5m]))", exported)


def test_no_metric_is_labelled_with_an_id(exported: dict[str, Exported]) -> None:
    """Bounded cardinality: document, job, chunk, request or key ids never become labels."""
    for info in exported.values():
        for label in info.labels:
            assert not (label.endswith("_id") or label in {"id", "key", "user"}), (
                f"{info.family} is labelled by {label}"
            )


def test_alert_rules_cover_what_operators_page_on() -> None:
    alerts = {where.split(": ")[1] for where, _ in _rule_expressions()}
    assert {
        "RaglineHighErrorRate",
        "RaglineHighLatencyP95",
        "RaglineDeadLettersGrowing",
        "RaglineIngestionLag",
        "RaglineLlmCircuitOpen",
    } <= alerts


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip(PROMTOOL_MISSING)
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["check", "rules", "alerts.yml"],
        ["check", "config", "prometheus.yml"],
        ["test", "rules", "alerts_test.yml"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_promtool_accepts_the_rules_and_config(args: list[str]) -> None:
    result = subprocess.run(
        [_promtool(), *args],
        cwd=PROMETHEUS,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    """Guards the check above: promtool must actually parse the expressions."""
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n- name: x\n  rules:\n  - alert: Broken\n    expr: sum by (x (up)\n")
    result = subprocess.run(
        [_promtool(), "check", "rules", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0


def test_compose_mounts_the_rules_and_dashboards(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    grafana_volumes = compose["services"]["grafana"]["volumes"]
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in grafana_volumes
    provider = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "dashboards.yaml").read_text()
    )
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
