"""deploy/k8s: every overlay renders with kustomize and every rendered object validates against
the Kubernetes OpenAPI-derived JSON schemas (``kubernetes-validate``, strict: unknown fields are
errors), plus the operational properties the manifests promise.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
SERVICES = ("gateway", "ingestion", "retrieval", "generation")
AUTOSCALED = ("gateway", "retrieval", "generation")
KUBERNETES_VERSION = "1.30"
"""Oldest Kubernetes minor the manifests must be valid for."""
CUSTOM_RESOURCES = frozenset(
    {
        ("keda.sh/v1alpha1", "ScaledObject"),
        ("keda.sh/v1alpha1", "TriggerAuthentication"),
        ("rabbitmq.com/v1beta1", "RabbitmqCluster"),
    }
)
"""Operator resources the Kubernetes schemas do not cover; dedicated tests below check them."""


def _objects(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def _kustomizations() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


@pytest.mark.parametrize(
    "kustomization", _kustomizations(), ids=lambda path: str(path.parent.relative_to(K8S))
)
def test_every_referenced_file_exists(kustomization: Path) -> None:
    """Runs without a renderer: each resource, patch and generator source is in the tree
    (except the gitignored secrets.env, for which an example must exist)."""
    spec = yaml.safe_load(kustomization.read_text())
    directory = kustomization.parent
    for resource in spec.get("resources", []):
        assert (directory / resource).exists(), f"{kustomization}: missing {resource}"
    for patch in spec.get("patches", []):
        if "path" in patch:
            assert (directory / patch["path"]).exists(), f"{kustomization}: missing {patch['path']}"
    for generator in spec.get("configMapGenerator", []) + spec.get("secretGenerator", []):
        for source in generator.get("envs", []) + generator.get("files", []):
            if source == "secrets.env":
                assert (directory / "secrets.env.example").exists()
            else:
                assert (directory / source).exists(), f"{kustomization}: missing {source}"


def test_no_secret_values_are_committed() -> None:
    for path in K8S.rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            is_secret = isinstance(doc, dict) and doc.get("kind") == "Secret"
            assert not is_secret, f"{path} commits a Secret"
    assert "secrets.env" in (K8S / ".gitignore").read_text().split()


def test_overlays_render(rendered_overlays: dict[str, list[dict[str, Any]]]) -> None:
    for overlay, docs in rendered_overlays.items():
        deployments = _objects(docs, "Deployment")
        assert set(SERVICES) <= set(deployments), f"{overlay}: {sorted(deployments)}"


def test_rendered_objects_match_the_kubernetes_schemas(
    rendered_overlays: dict[str, list[dict[str, Any]]],
) -> None:
    try:
        validator = importlib.import_module("kubernetes_validate")
    except ModuleNotFoundError as exc:
        if exc.name != "kubernetes_validate":
            raise
        pytest.skip(
            "kubernetes-validate is not installed; add 'kubernetes-validate>=1.37' to the "
            "root pyproject's dev group"
        )
    failures = []
    for overlay, docs in rendered_overlays.items():
        for doc in docs:
            if (doc["apiVersion"], doc["kind"]) in CUSTOM_RESOURCES:
                continue
            try:
                validator.validate(doc, KUBERNETES_VERSION, strict=True)
            except (validator.ValidationError, validator.SchemaNotFoundError) as exc:
                failures.append(f"{overlay} {doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("service", SERVICES)
def test_deployments_are_probed_limited_and_locked_down(
    rendered_overlays: dict[str, list[dict[str, Any]]], service: str
) -> None:
    for overlay, docs in rendered_overlays.items():
        pod = _objects(docs, "Deployment")[service]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        where = f"{overlay}/{service}"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", where
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", where
        assert container["args"] == ["ragline", "run", "--target", service], where
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
        assert "memory" in container["resources"]["limits"], where
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["automountServiceAccountToken"] is False, where
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, where
        assert security["allowPrivilegeEscalation"] is False, where
        assert security["capabilities"]["drop"] == ["ALL"], where
        tmp_volumes = {m["name"] for m in container["volumeMounts"] if m["mountPath"] == "/tmp"}
        assert tmp_volumes, f"{where}: /tmp is not writable"
        assert all("emptyDir" in v for v in pod["volumes"] if v["name"] in tmp_volumes), where


def test_services_expose_each_deployment(
    rendered_overlays: dict[str, list[dict[str, Any]]],
) -> None:
    for overlay, docs in rendered_overlays.items():
        services = _objects(docs, "Service")
        for name in SERVICES:
            selector = services[name]["spec"]["selector"]
            labels = _objects(docs, "Deployment")[name]["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= labels.items(), f"{overlay}: Service {name} selects nothing"


def test_hpas_scale_the_stateless_http_services(
    rendered_overlays: dict[str, list[dict[str, Any]]],
) -> None:
    for overlay, docs in rendered_overlays.items():
        hpas = _objects(docs, "HorizontalPodAutoscaler")
        deployments = _objects(docs, "Deployment")
        assert set(hpas) == set(AUTOSCALED), overlay
        for name, hpa in hpas.items():
            target = hpa["spec"]["scaleTargetRef"]
            assert (target["kind"], target["name"]) == ("Deployment", name)
            assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
            # An HPA-managed Deployment must not pin replicas (each apply would reset the scale).
            assert "replicas" not in deployments[name]["spec"], f"{overlay}: {name} pins replicas"


def test_prod_runs_more_replicas_with_disruption_budgets(
    rendered_overlays: dict[str, list[dict[str, Any]]],
) -> None:
    prod, dev = rendered_overlays["prod"], rendered_overlays["dev"]
    for name in AUTOSCALED:
        prod_min = _objects(prod, "HorizontalPodAutoscaler")[name]["spec"]["minReplicas"]
        assert prod_min >= 3
        assert prod_min > _objects(dev, "HorizontalPodAutoscaler")[name]["spec"]["minReplicas"]
    assert _objects(prod, "ScaledObject")["ingestion"]["spec"]["minReplicaCount"] >= 3
    budgets = _objects(prod, "PodDisruptionBudget")
    for name in [*SERVICES, "qdrant"]:
        assert budgets[name]["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": name}


def test_prod_peers_accept_traffic_only_from_the_gateway(
    rendered_overlays: dict[str, list[dict[str, Any]]],
) -> None:
    """On the API port; the metrics port has its own rule (test_deploy_metrics_listener)."""
    policies = list(_objects(rendered_overlays["prod"], "NetworkPolicy").values())
    covered: set[str] = set()
    for policy in policies:
        spec = policy["spec"]
        if "Ingress" not in spec["policyTypes"]:
            continue
        selected: set[str] = set()
        for expression in spec["podSelector"].get("matchExpressions", []):
            if expression["key"] == "app.kubernetes.io/name" and expression["operator"] == "In":
                selected.update(expression["values"])
        if not selected & {"retrieval", "generation"}:
            continue
        covered |= selected
        for rule in spec["ingress"]:
            if 8000 in {entry["port"] for entry in rule.get("ports", [])}:
                assert rule["from"] == [
                    {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}
                ]
    assert {"retrieval", "generation"} <= covered


def test_secret_references_match_the_example_keys(
    rendered_overlays: dict[str, list[dict[str, Any]]],
) -> None:
    """Every key a pod reads from ragline-secrets is documented in that overlay's example."""
    for overlay, docs in rendered_overlays.items():
        example = (K8S / "overlays" / overlay / "secrets.env.example").read_text()
        documented = {
            line.split("=", 1)[0]
            for line in example.splitlines()
            if "=" in line and not line.startswith("#")
        }
        secret = next(doc for doc in docs if doc["kind"] == "Secret")
        assert set(secret["data"]) == documented, overlay
        for workload in [
            *_objects(docs, "Deployment").values(),
            *_objects(docs, "StatefulSet").values(),
        ]:
            for container in workload["spec"]["template"]["spec"]["containers"]:
                for entry in container.get("env", []):
                    ref = entry.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        assert ref["name"] == secret["metadata"]["name"], entry["name"]
                        assert ref["key"] in documented, f"{overlay}: {ref['key']} undocumented"


def test_only_known_custom_resources_are_rendered(
    rendered_overlays: dict[str, list[dict[str, Any]]],
) -> None:
    """Anything not core Kubernetes must be one of the operator kinds checked here."""
    core_groups = ("v1", "apps/v1", "autoscaling/v2", "policy/v1", "networking.k8s.io/v1")
    for overlay, docs in rendered_overlays.items():
        for doc in docs:
            if doc["apiVersion"] not in core_groups:
                assert (doc["apiVersion"], doc["kind"]) in CUSTOM_RESOURCES, (overlay, doc["kind"])


def test_prod_scales_the_worker_on_queue_depth_with_keda(
    rendered_overlays: dict[str, list[dict[str, Any]]],
) -> None:
    docs = rendered_overlays["prod"]
    scaled = _objects(docs, "ScaledObject")["ingestion"]["spec"]
    assert scaled["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "ingestion",
    }
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"]
    [trigger] = scaled["triggers"]
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["queueName"] == "ragline.ingestion"
    assert trigger["metadata"]["mode"] == "QueueLength"
    assert int(trigger["metadata"]["value"]) > 0
    auth = _objects(docs, "TriggerAuthentication")[trigger["authenticationRef"]["name"]]
    secret = next(doc for doc in docs if doc["kind"] == "Secret")
    [ref] = auth["spec"]["secretTargetRef"]
    # The generated Secret's name carries a hash suffix: the reference must follow it.
    assert (ref["parameter"], ref["name"]) == ("host", secret["metadata"]["name"])
    assert ref["key"] in secret["data"]
    # KEDA owns the replica count: a pinned one would be reset on every apply.
    assert "replicas" not in _objects(docs, "Deployment")["ingestion"]["spec"]
    assert "ingestion" not in _objects(docs, "HorizontalPodAutoscaler")


def test_prod_runs_rabbitmq_and_qdrant_as_three_node_clusters(
    rendered_overlays: dict[str, list[dict[str, Any]]],
) -> None:
    docs = rendered_overlays["prod"]
    rabbit = _objects(docs, "RabbitmqCluster")["rabbitmq"]["spec"]
    assert rabbit["replicas"] == 3
    assert rabbit["persistence"]["storage"]
    assert "rabbitmq" not in _objects(docs, "StatefulSet"), "operator and StatefulSet both"
    qdrant = _objects(docs, "StatefulSet")["qdrant"]["spec"]
    assert qdrant["replicas"] == 3
    container = qdrant["template"]["spec"]["containers"][0]
    env = {entry["name"]: entry.get("value") for entry in container["env"]}
    assert env["QDRANT__CLUSTER__ENABLED"] == "true"
    assert "--bootstrap" in container["args"][0]
    assert {port["containerPort"] for port in container["ports"]} >= {6333, 6334, 6335}
    assert qdrant["volumeClaimTemplates"], "each peer keeps its own storage"
    dev = rendered_overlays["dev"]
    assert _objects(dev, "StatefulSet")["qdrant"]["spec"]["replicas"] == 1


def test_services_are_scraped_and_traced(
    rendered_overlays: dict[str, list[dict[str, Any]]],
) -> None:
    for overlay, docs in rendered_overlays.items():
        for name in SERVICES:
            template = _objects(docs, "Deployment")[name]["spec"]["template"]
            annotations = template["metadata"]["annotations"]
            assert annotations["prometheus.io/scrape"] == "true", (overlay, name)
            assert annotations["prometheus.io/port"] == "9464", (overlay, name)
    config = next(
        doc
        for doc in rendered_overlays["prod"]
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].startswith("ragline-config")
    )
    assert config["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http")
    assert config["data"]["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"


MEBIBYTES = {"Mi": 1, "Gi": 1024}
EMBEDDING_SERVICES = ("ingestion", "retrieval")
MAX_EMBEDDING_REQUEST_MIB = 1024
"""The ONNX runtime's goals (bench-ingest: worker peak RSS < 1 GiB; bench-search: the process
holding the index <= 450 MiB); a request above this is still sized for torch."""


def _mib(quantity: str) -> int:
    number, unit = quantity[:-2], quantity[-2:]
    assert unit in MEBIBYTES and number.isdigit(), f"write memory as <n>Mi or <n>Gi: {quantity}"
    return int(number) * MEBIBYTES[unit]


def _memory(docs: list[dict[str, Any]], service: str) -> tuple[int, int]:
    container = _objects(docs, "Deployment")[service]["spec"]["template"]["spec"]["containers"][0]
    resources = container["resources"]
    return _mib(resources["requests"]["memory"]), _mib(resources["limits"]["memory"])


@pytest.mark.parametrize("service", EMBEDDING_SERVICES)
def test_embedding_services_are_sized_for_the_onnx_runtime(
    rendered_overlays: dict[str, list[dict[str, Any]]], service: str
) -> None:
    for overlay, docs in rendered_overlays.items():
        request, limit = _memory(docs, service)
        assert request <= limit, (overlay, service)
        assert request <= MAX_EMBEDDING_REQUEST_MIB, (overlay, service)


def test_the_worker_limit_holds_its_parse_processes_at_their_caps(
    rendered_overlays: dict[str, list[dict[str, Any]]],
) -> None:
    """Sandboxed parses are child processes in the worker's container: if the limit did not
    hold ``parse_concurrency`` of them at ``parse_memory_mb`` each beside the worker's own
    request, a hostile PDF could get the worker OOM-killed instead of failing its own parse."""
    from ragline_ingestion.settings import IngestionSettings

    fields = IngestionSettings.model_fields
    for overlay, docs in rendered_overlays.items():
        config = next(
            doc["data"]
            for doc in docs
            if doc["kind"] == "ConfigMap" and doc["metadata"]["name"].startswith("ragline-config")
        )
        parses = int(
            config.get("RAGLINE_INGESTION_PARSE_CONCURRENCY", fields["parse_concurrency"].default)
        )
        cap = int(
            config.get("RAGLINE_INGESTION_PARSE_MEMORY_MB", fields["parse_memory_mb"].default)
        )
        request, limit = _memory(docs, "ingestion")
        assert limit >= request + parses * cap, overlay
