"""Every manifest under deploy/ validates against the Kubernetes schemas, strictly.

Kubernetes' own kinds: kubernetes-validate with the schemas it bundles (no network). KServe's
kinds: our own schemas in kserve_schemas.py, whose Kubernetes parts (containers, volumes,
metadata, ...) are checked against the definitions kubernetes-validate bundles for the same
Kubernetes version. Strict means unknown fields are errors, as with ``kubectl apply
--validate=strict``.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from kubernetes_validate import utils as kv
from referencing import Registry, Resource

from tests.deploy import kserve_schemas

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy").rglob("*.yaml"))
# The newest Kubernetes kubernetes-validate knows, and an older one still widely run.
KUBERNETES_VERSIONS = (kv.latest_version(), "1.29.0")


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


@cache
def kubernetes_definitions(version: str) -> Any:
    """The strict ``_definitions.json`` kubernetes-validate bundles for ``version``."""
    path = f"kubernetes-json-schema/v{version}-local-strict/_definitions.json"
    definitions = kv.schema_contents(path, version)
    assert definitions["$id"] == kserve_schemas.KUBERNETES_DEFINITIONS, definitions["$id"]
    return definitions


@cache
def kserve_validators(version: str) -> dict[tuple[str, str], jsonschema.Draft202012Validator]:
    definitions = kubernetes_definitions(version)
    registry: Registry = Resource.from_contents(definitions) @ Registry()
    return {
        key: jsonschema.Draft202012Validator(schema, registry=registry)
        for key, schema in kserve_schemas.schemas(definitions).items()
    }


def validate(doc: dict[str, Any], version: str) -> None:
    """Raise jsonschema.ValidationError (or a kubernetes-validate error) if ``doc`` is invalid."""
    validator = kserve_validators(version).get((doc["kind"], doc["apiVersion"]))
    if validator is not None:
        validator.validate(doc)
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


def _misspelt_runtime_container_field(doc: dict[str, Any]) -> None:
    container = doc["spec"]["containers"][0]
    container["securityContxt"] = container.pop("securityContext")


def _misspelt_runtime_probe_field(doc: dict[str, Any]) -> None:
    probe = doc["spec"]["containers"][0]["readinessProbe"]
    probe["periodSecond"] = probe.pop("periodSeconds")


# (intact manifest, how to break it, what the error must say: it fails for that reason)
BROKEN = [
    (deployment, _misspelt_probe, "'readinesProbe' was unexpected"),
    (deployment, _port_as_list, "[8000] is not of type 'integer'"),
    (deployment, _no_selector, "'selector' is a required property"),
    (inference_service, _misspelt_runtime, "'runtme' was unexpected"),
    (inference_service, _replicas_as_text, "'one' is not of type 'integer'"),
    (serving_runtime, _container_without_name, "'name' is a required property"),
    (serving_runtime, _misspelt_runtime_container_field, "'securityContxt' was unexpected"),
    (serving_runtime, _misspelt_runtime_probe_field, "'periodSecond' was unexpected"),
]


@pytest.mark.parametrize(
    "make, break_it, reason",
    BROKEN,
    ids=[f"{make.__name__}-{break_it.__name__}" for make, break_it, _ in BROKEN],
)
def test_validation_rejects_broken_manifest(make: Any, break_it: Any, reason: str) -> None:
    doc = copy.deepcopy(make())
    validate(doc, kv.latest_version())  # the intact one passes...
    break_it(doc)
    with pytest.raises((jsonschema.ValidationError, kv.ValidationError)) as caught:
        validate(doc, kv.latest_version())  # ...the broken one does not, for the right reason
    assert reason in caught.value.message, caught.value.message


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


def test_every_server_takes_its_admin_key_from_the_secret_and_none_opens_the_apis() -> None:
    containers = [
        documents(path)[0]["spec"]["template"]["spec"]["containers"][0]
        for path in (ROOT / "deploy" / "k8s").rglob("deployment.yaml")
    ] + serving_runtime()["spec"]["containers"]
    assert len(containers) == 4  # volume, repository in a bucket, OVMS config in a bucket; KServe
    for container in containers:
        env = {e["name"]: e for e in container["env"]}
        assert env["OVTRITON_ADMIN_KEY"]["valueFrom"]["secretKeyRef"] == {
            "name": "ovtriton-admin",
            "key": "admin-key",
            "optional": True,  # without the Secret: a random key per pod, still closed
        }
        assert "OVTRITON_OPEN_CONTROL_APIS" not in env


def test_the_ingress_routes_only_grpc_inference_health_and_metadata_with_a_body_limit() -> None:
    (ingress,) = documents(ROOT / "deploy" / "k8s" / "ingress.yaml")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/backend-protocol"] == "GRPC"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "16m"
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    methods = {p["path"].rpartition("/")[2] for p in paths}
    assert methods == {"ModelInfer", "ModelMetadata", "ModelReady", "ServerReady", "ServerLive"}
    for path in paths:
        assert path["pathType"] == "Exact"
        assert path["path"].startswith("/inference.GRPCInferenceService/")
        assert path["backend"]["service"] == {"name": "ovtriton", "port": {"name": "grpc"}}
    service = documents(ROOT / "deploy" / "k8s" / "service.yaml")[0]
    assert "grpc" in {p["name"] for p in service["spec"]["ports"]}


def quantity(text: str) -> int:
    """Bytes of a Kubernetes quantity such as 4Gi or 16m (nginx's m = MiB)."""
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "m": 1 << 20}
    for unit, factor in units.items():
        if text.endswith(unit):
            return int(text[: -len(unit)]) * factor
    return int(text)


def test_memory_limits_fit_the_largest_request_the_deployment_lets_in() -> None:
    """Measured (docs/notes/safety.md): one model instance ~170 MiB idle, ~16x its largest
    request after it (tritonserver, stub, /dev/shm), and /dev/shm ~2x; the Ingress's body
    limit stays within the converted models' MAX_INPUT_BYTES."""
    (ingress,) = documents(ROOT / "deploy" / "k8s" / "ingress.yaml")
    body_limit = quantity(
        ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    )
    pods = [documents(ROOT / "deploy" / "k8s" / "deployment.yaml")[0]["spec"]["template"]["spec"]]
    pods.append(serving_runtime()["spec"])
    for pod in pods:
        (container,) = pod["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        largest = int(env["OVTRITON_MAX_INPUT_BYTES"])
        assert body_limit <= largest
        memory = quantity(container["resources"]["limits"]["memory"])
        assert memory == quantity(container["resources"]["requests"]["memory"])
        assert memory >= (170 << 20) + 16 * largest, (memory, largest)
        (shm,) = [v for v in pod["volumes"] if v["name"] == "dshm"]
        assert shm["emptyDir"]["medium"] == "Memory"
        assert 2 * largest <= quantity(shm["emptyDir"]["sizeLimit"]) <= memory
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert mounts["/dev/shm"] == "dshm"


def test_the_ovms_config_route_runs_serve_with_ovms_flags_and_the_secret() -> None:
    """deploy/k8s/object-storage-config: `ovtriton serve --config_path s3://…` as OVMS is run,
    credentials from the Secret, shutdown sized as the repository route's."""
    from ovtriton.cli import build_parser
    from ovtriton.commands.ovms_flags import apply_ovms_arguments

    path = ROOT / "deploy" / "k8s" / "object-storage-config" / "deployment.yaml"
    pod = documents(path)[0]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = container["args"]
    assert args[:2] == ["ovtriton", "serve"]  # the entrypoint runs a command given first
    cut = args.index("--")  # as main() does: after `--`, tritonserver's own flags
    parsed = build_parser(args[1:cut]).parse_args(args[1:cut])
    parsed.passthrough = args[cut + 1 :]
    apply_ovms_arguments(parsed)
    assert parsed.config == "s3://models/ovms/config.json"
    assert parsed.watch and parsed.poll_seconds == 10
    assert parsed.host == "0.0.0.0"
    assert parsed.passthrough == ["--exit-timeout-secs=15"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert parsed.max_input_bytes == int(env["OVTRITON_MAX_INPUT_BYTES"])
    assert container["envFrom"] == [{"secretRef": {"name": "ovtriton-s3"}}]
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    # + the drain measured on this route (docs/cluster.md: 5.8-6.5 s)
    assert pod["terminationGracePeriodSeconds"] >= pre_stop + 15 + 7
