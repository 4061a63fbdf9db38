"""docker/k8s: every overlay renders offline (`kubectl kustomize`) and validates against a pinned
Kubernetes version (kubernetes-validate, schemas bundled), and says what docs/kubernetes.md promises."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import REQUIRE_SERVICES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "docker" / "k8s"
KUBERNETES = "1.33.0"
OVERLAYS = ("small", "production")


def render(overlay: str) -> list[dict[str, Any]]:
    if shutil.which("kubectl") is None:
        if REQUIRE_SERVICES:
            pytest.fail("kubectl is not installed (Debian package kubectl); .ci/run installs it")
        pytest.skip("kubectl is not installed")
    done = subprocess.run(
        ["kubectl", "kustomize", str(K8S / "overlays" / overlay)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


def pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {name: d["spec"]["template"]["spec"] for name, d in of_kind(docs, "Deployment").items()}
    found |= {name: d["spec"]["template"]["spec"] for name, d in of_kind(docs, "Job").items()}
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_renders_and_validates_strictly_against_the_pinned_kubernetes(overlay: str) -> None:
    docs = render(overlay)
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES, strict=True)
    kinds = {doc["kind"] for doc in docs}
    assert {"Deployment", "Service", "Job", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy"} <= kinds
    assert {"ConfigMap", "PersistentVolumeClaim", "ServiceAccount"} <= kinds
    assert all(doc["metadata"].get("namespace") == "gateway" for doc in docs)


def test_a_manifest_that_breaks_the_schema_is_refused() -> None:
    (service,) = of_kind(render("small"), "Service").values()
    service["spec"]["ports"][0]["port"] = "eighty"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(service, KUBERNETES, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_as_non_root_on_a_read_only_root_filesystem(overlay: str) -> None:
    for name, spec in pod_specs(render(overlay)).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"], name
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert {"/var/lib/gateway", "/tmp"} <= mounts, name  # the only writable places


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_is_probed_on_its_health_endpoints_with_an_allowed_host(overlay: str) -> None:
    (container,) = pod_specs(render(overlay))["gateway"]["containers"]
    probes = {kind: container[f"{kind}Probe"]["httpGet"] for kind in ("startup", "readiness", "liveness")}
    assert {kind: probe["path"] for kind, probe in probes.items()} == {
        "startup": "/health/startup",
        "readiness": "/ready",
        "liveness": "/health",
    }
    for probe in probes.values():
        assert probe["httpHeaders"] == [{"name": "Host", "value": "localhost"}]  # Django's ALLOWED_HOSTS
    assert container["command"][:3] == ["python", "-m", "gateway_project.serve"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_exactly_one_beat_and_never_two_during_a_rollout(overlay: str) -> None:
    beat = of_kind(render(overlay), "Deployment")["celery-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"


def test_production_keeps_two_gateways_through_disruptions_and_spreads_them() -> None:
    docs = render("production")
    assert of_kind(docs, "PodDisruptionBudget")["gateway"]["spec"]["minAvailable"] == 2
    hpa = of_kind(docs, "HorizontalPodAutoscaler")["gateway"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 20)
    spread = pod_specs(docs)["gateway"]["topologySpreadConstraints"][0]
    assert spread["whenUnsatisfiable"] == "DoNotSchedule"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateway_takes_traffic_and_only_on_its_port(overlay: str) -> None:
    policies = of_kind(render(overlay), "NetworkPolicy")
    open_one = policies["gateway"]["spec"]
    assert open_one["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "gateway"}
    assert open_one["ingress"] == [{"from": [], "ports": [{"port": 8000, "protocol": "TCP"}]}]
    closed = policies["gateway-workers-no-ingress"]["spec"]
    assert "ingress" not in closed and closed["policyTypes"] == ["Ingress"]


def test_every_secret_reference_names_the_one_secret_the_docs_tell_to_create() -> None:
    for spec in pod_specs(render("small")).values():
        for container in spec["containers"]:
            refs = [e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e]
            assert refs == ["gateway-secrets"]
    assert "gateway-secrets" in (ROOT / "docs" / "kubernetes.md").read_text()
