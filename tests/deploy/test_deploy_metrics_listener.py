"""Prometheus scrapes the metrics listener, and nothing public leads to it.

``/metrics`` names tenants, so each process serves it on ``RAGLINE_METRICS_PORT``, apart from
the API port. The deployments must bind that listener where Prometheus can reach it, point
every scrape at it, and keep it off everything public: no published compose port, no
Kubernetes Service port, and in prod a NetworkPolicy that lets only Prometheus in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "ingestion", "retrieval", "generation")
API_PORT = 8000
PROMETHEUS_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
}
"""The Prometheus the prod overlay expects: in the ``observability`` namespace, like the
collector its traces go to."""


def _metrics_port(env: dict[str, str], where: str) -> int:
    assert env.get("RAGLINE_METRICS_HOST") == "0.0.0.0", f"{where}: Prometheus cannot reach it"
    port = int(env.get("RAGLINE_METRICS_PORT", "0"))
    assert port not in (0, API_PORT), f"{where}: no metrics listener of its own"
    return port


def _objects(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def test_compose_scrapes_each_service_on_its_metrics_port(
    compose_env: dict[str, dict[str, str]],
) -> None:
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    [job] = [job for job in config["scrape_configs"] if job["job_name"] == "ragline"]
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = {
        group["labels"]["component"]: target
        for group in job["static_configs"]
        for target in group["targets"]
    }
    assert set(targets) == set(SERVICES)
    for service in SERVICES:
        port = _metrics_port(compose_env[service], f"compose {service}")
        assert targets[service] == f"{service}:{port}"


def test_compose_publishes_no_metrics_port(
    compose: dict[str, Any], compose_env: dict[str, dict[str, str]]
) -> None:
    for service in SERVICES:
        port = _metrics_port(compose_env[service], f"compose {service}")
        published = [str(mapping) for mapping in compose["services"][service].get("ports", [])]
        assert not [p for p in published if p.rsplit(":", 1)[-1] == str(port)], service
        assert "9464" not in " ".join(published)


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_pods_are_scraped_on_the_metrics_port_no_service_exposes(
    rendered_overlays: dict[str, list[dict[str, Any]]],
    k8s_env: dict[str, dict[str, dict[str, str]]],
    service: str,
) -> None:
    for overlay, docs in rendered_overlays.items():
        where = f"k8s/{overlay} {service}"
        port = _metrics_port(k8s_env[overlay][service], where)
        template = _objects(docs, "Deployment")[service]["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", where
        assert annotations["prometheus.io/port"] == str(port), where
        assert annotations["prometheus.io/path"] == "/metrics", where
        container_ports = {
            p["name"]: p["containerPort"] for p in template["spec"]["containers"][0]["ports"]
        }
        assert container_ports == {"http": API_PORT, "metrics": port}, where
        service_ports = _objects(docs, "Service")[service]["spec"]["ports"]
        assert [p["targetPort"] for p in service_ports] == ["http"], where


def test_k8s_prod_lets_only_prometheus_reach_the_metrics_port(
    rendered_overlays: dict[str, list[dict[str, Any]]],
    k8s_env: dict[str, dict[str, dict[str, str]]],
) -> None:
    docs = rendered_overlays["prod"]
    deployments = _objects(docs, "Deployment")
    for service in SERVICES:
        port = _metrics_port(k8s_env["prod"][service], f"k8s/prod {service}")
        labels = deployments[service]["spec"]["template"]["metadata"]["labels"]
        rules = [
            rule
            for policy in _objects(docs, "NetworkPolicy").values()
            if "Ingress" in policy["spec"]["policyTypes"]
            and _selects(policy["spec"]["podSelector"], labels)
            for rule in policy["spec"]["ingress"]
        ]
        assert rules, f"{service}: no ingress policy, so any pod can scrape it"
        metrics_rules = [rule for rule in rules if port in _ports(rule)]
        assert metrics_rules, f"{service}: Prometheus cannot scrape it"
        for rule in metrics_rules:
            assert rule.get("from") == [PROMETHEUS_PEER], f"{service}: metrics open to {rule}"
        assert all(_ports(rule) for rule in rules), f"{service}: a rule opens every port"


def _ports(rule: dict[str, Any]) -> set[int]:
    return {entry["port"] for entry in rule.get("ports", [])}


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    matches = selector.get("matchLabels", {}).items() <= labels.items()
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        matches = matches and labels.get(expression["key"]) in expression["values"]
    return matches
