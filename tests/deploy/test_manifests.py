"""Every manifest under deploy/ validates against the Kubernetes schemas, strictly.

Kubernetes' own kinds: kubernetes-validate with the schemas it bundles (no network). KServe's
kinds: the schemas generated from KServe's CRDs into schemas/ (make_crd_schemas.py). Strict means
unknown fields are errors, as with ``kubectl apply --validate=strict``.
"""

from __future__ import annotations

import copy
import gzip
import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from kubernetes_validate import utils as kv

from tests.deploy.make_crd_schemas import SCHEMAS, schema_name

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy").rglob("*.yaml"))
# The newest Kubernetes kubernetes-validate knows, and an older one still widely run.
KUBERNETES_VERSIONS = (kv.latest_version(), "1.29.0")


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


@cache
def crd_schema(kind: str, api_version: str) -> Any:
    path = SCHEMAS / schema_name(kind, api_version)
    return json.loads(gzip.decompress(path.read_bytes())) if path.is_file() else None


def validate(doc: dict[str, Any], version: str) -> None:
    """Raise jsonschema.ValidationError (or a kubernetes-validate error) if ``doc`` is invalid."""
    schema = crd_schema(doc["kind"], doc["apiVersion"])
    if schema is not None:
        jsonschema.Draft7Validator(schema).validate(doc)
    else:
        # Raises SchemaNotFoundError for a kind it does not know: that fails the test too.
        kv.validate(doc, version, strict=True)


def test_deploy_has_the_promised_manifests() -> None:
    kinds = {doc["kind"] for path in MANIFESTS for doc in documents(path)}
    assert {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "InferenceService",
        "ServingRuntime",
    } <= kinds


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(ROOT / "deploy")))
def test_manifest_validates_against_kubernetes_schemas(path: Path, version: str) -> None:
    docs = documents(path)
    assert docs, f"{path} has no resource"
    for doc in docs:
        validate(doc, version)


@pytest.mark.parametrize("path", sorted((ROOT / "deploy" / "k8s").rglob("*.yaml")))
def test_kubernetes_validate_cli_accepts_manifest(path: Path) -> None:
    """The command-line tool agrees (and prints no warning, e.g. about an unknown kind)."""
    result = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", str(path)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def deployment() -> dict[str, Any]:
    return documents(ROOT / "deploy" / "k8s" / "deployment.yaml")[0]


def inference_service() -> dict[str, Any]:
    return documents(ROOT / "deploy" / "kserve" / "inferenceservice.yaml")[0]


def serving_runtime() -> dict[str, Any]:
    return documents(ROOT / "deploy" / "kserve" / "servingruntime.yaml")[0]


def _misspelt_probe(doc: dict[str, Any]) -> None:
    container = doc["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")


def _port_as_list(doc: dict[str, Any]) -> None:
    doc["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = [8000]


def _no_selector(doc: dict[str, Any]) -> None:
    del doc["spec"]["selector"]


def _misspelt_runtime(doc: dict[str, Any]) -> None:
    model = doc["spec"]["predictor"]["model"]
    model["runtme"] = model.pop("runtime")


def _replicas_as_text(doc: dict[str, Any]) -> None:
    doc["spec"]["predictor"]["minReplicas"] = "one"


def _container_without_name(doc: dict[str, Any]) -> None:
    del doc["spec"]["containers"][0]["name"]


@pytest.mark.parametrize(
    "make, break_it",
    [
        (deployment, _misspelt_probe),
        (deployment, _port_as_list),
        (deployment, _no_selector),
        (inference_service, _misspelt_runtime),
        (inference_service, _replicas_as_text),
        (serving_runtime, _container_without_name),
    ],
    ids=lambda f: f.__name__,
)
def test_validation_rejects_broken_manifest(make: Any, break_it: Any) -> None:
    doc = copy.deepcopy(make())
    validate(doc, kv.latest_version())  # the intact one passes...
    break_it(doc)
    with pytest.raises((jsonschema.ValidationError, kv.ValidationError)):
        validate(doc, kv.latest_version())  # ...the broken one does not


def test_validation_rejects_unknown_kind() -> None:
    doc = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    with pytest.raises(kv.SchemaNotFoundError):
        validate(doc, kv.latest_version())


def test_probes_use_triton_health_endpoints() -> None:
    for path in (ROOT / "deploy" / "k8s").rglob("deployment.yaml"):
        container = documents(path)[0]["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
        assert container["startupProbe"]["httpGet"]["path"] == "/v2/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
