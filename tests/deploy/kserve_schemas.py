"""Strict JSON schemas (draft 2020-12) for the KServe kinds that deploy/kserve/ uses.

Hand-written for this project: they cover the fields our manifests set and the ones a user is
likely to add (scaling, placement, volumes, logging, a transformer), not the whole KServe API.
Every object of ours says ``additionalProperties: false``, so a misspelt field is an error, as
with ``kubectl apply --validate=strict``. A field KServe has but this file does not know fails
too: add it here when a manifest needs it.

Whatever is a Kubernetes type inside a KServe object (a container, a volume, a toleration, the
object metadata) is checked against the strict schemas that kubernetes-validate bundles, by
``$ref`` into its ``_definitions.json`` (KUBERNETES_DEFINITIONS). Where KServe inlines a
Kubernetes type and adds fields of its own (the predictor is a pod spec, the predictor's model is
a container), the Kubernetes type's properties are copied in next to KServe's and ``$ref``-ed
from there, so the result stays strict; the Kubernetes type's ``required`` list is not copied
(KServe fills in a container name, and the predictor's ``containers`` is optional).
"""

from __future__ import annotations

import copy
from typing import Any

# The $id of kubernetes-validate's _definitions.json; its definitions live under $defs.
KUBERNETES_DEFINITIONS = "https://kubernetes.io/api/_definitions.json"
CORE = "io.k8s.api.core.v1."
KSERVE_GROUP = "serving.kserve.io"
PROTOCOLS = ["v1", "v2", "grpc-v1", "grpc-v2"]


def k8s(name: str) -> dict[str, Any]:
    """A reference to a Kubernetes definition, e.g. ``k8s("io.k8s.api.core.v1.Container")``."""
    return {"$ref": f"{KUBERNETES_DEFINITIONS}#/$defs/{name}"}


def closed(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """An object with exactly these properties (and at least the required ones)."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema


def list_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
INTEGER = {"type": "integer"}
COUNT = {"type": "integer", "minimum": 0}


def _absolute(node: Any) -> Any:
    """Rewrite the local ``#/$defs/...`` references of a copied definition to absolute ones."""
    if isinstance(node, list):
        return [_absolute(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _absolute(value) for key, value in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        out["$ref"] = KUBERNETES_DEFINITIONS + ref
    return out


def inline_properties(definitions: dict[str, Any], name: str) -> dict[str, Any]:
    """The properties of a Kubernetes definition, ready to sit in one of our objects."""
    return _absolute(copy.deepcopy(definitions["$defs"][name]["properties"]))


def resource(kind: str, api_version: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **closed(
            {
                "apiVersion": {"const": api_version},
                "kind": {"const": kind},
                "metadata": k8s("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
                "spec": spec,
            },
            required=("apiVersion", "kind", "metadata", "spec"),
        ),
    }


def serving_runtime() -> dict[str, Any]:
    """ServingRuntime (serving.kserve.io/v1alpha1): which model formats, which containers."""
    model_format = closed(
        {
            "name": {"type": "string", "minLength": 1},
            "version": {"type": "string"},
            "autoSelect": {"type": "boolean"},
            "priority": {"type": "integer", "minimum": 1},
        },
        required=("name",),
    )
    spec = closed(
        {
            "supportedModelFormats": list_of(model_format),
            "protocolVersions": list_of({"enum": PROTOCOLS}),
            "multiModel": {"type": "boolean"},
            "disabled": {"type": "boolean"},
            # The pod the runtime becomes: containers plus a little of a pod spec.
            "containers": {**list_of(k8s(CORE + "Container")), "minItems": 1},
            "volumes": list_of(k8s(CORE + "Volume")),
            "imagePullSecrets": list_of(k8s(CORE + "LocalObjectReference")),
            "nodeSelector": STRING_MAP,
            "affinity": k8s(CORE + "Affinity"),
            "tolerations": list_of(k8s(CORE + "Toleration")),
            "labels": STRING_MAP,
            "annotations": STRING_MAP,
        },
        required=("containers",),
    )
    return resource("ServingRuntime", f"{KSERVE_GROUP}/v1alpha1", spec)


def _component_extension() -> dict[str, Any]:
    """The fields KServe adds to every component (predictor, transformer): scaling and more."""
    return {
        "minReplicas": COUNT,
        "maxReplicas": COUNT,
        "scaleTarget": COUNT,
        "scaleMetric": {"enum": ["cpu", "memory", "concurrency", "rps"]},
        "containerConcurrency": COUNT,
        "timeout": COUNT,
        "canaryTrafficPercent": {"type": "integer", "minimum": 0, "maximum": 100},
        "logger": closed(
            {"url": {"type": "string"}, "mode": {"enum": ["all", "request", "response"]}}
        ),
        "batcher": closed({"maxBatchSize": COUNT, "maxLatency": COUNT, "timeout": COUNT}),
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
        "deploymentStrategy": k8s("io.k8s.api.apps.v1.DeploymentStrategy"),
    }


def _component(definitions: dict[str, Any], **extra: dict[str, Any]) -> dict[str, Any]:
    """A pod spec (every field optional) plus the component extension plus ``extra``."""
    return closed(
        {**inline_properties(definitions, CORE + "PodSpec"), **_component_extension(), **extra}
    )


def inference_service(definitions: dict[str, Any]) -> dict[str, Any]:
    """InferenceService (serving.kserve.io/v1beta1). ``definitions``: Kubernetes' _definitions.

    The predictor serves a ``model`` (a model format, optionally a named runtime, where to fetch
    it from) or, as a custom predictor, its own ``containers``. KServe's older per-framework
    predictor fields (``sklearn:``, ``triton:``, ...) are not accepted: they would not select the
    ovtriton runtime.
    """
    model = closed(
        {
            # The model is a container too: resources, env, args for the runtime's container.
            **inline_properties(definitions, CORE + "Container"),
            "modelFormat": closed(
                {"name": {"type": "string", "minLength": 1}, "version": {"type": "string"}},
                required=("name",),
            ),
            "runtime": {"type": "string"},
            "runtimeVersion": {"type": "string"},
            "protocolVersion": {"enum": PROTOCOLS},
            "storageUri": {"type": "string"},
            "storage": closed(
                {
                    "key": {"type": "string"},
                    "path": {"type": "string"},
                    "schemaPath": {"type": "string"},
                    "parameters": STRING_MAP,
                }
            ),
        },
        required=("modelFormat",),
    )
    spec = closed(
        {
            "predictor": _component(definitions, model=model),
            "transformer": _component(definitions),
        },
        required=("predictor",),
    )
    return resource("InferenceService", f"{KSERVE_GROUP}/v1beta1", spec)


def schemas(definitions: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(kind, apiVersion): schema}`` for the KServe kinds deploy/ uses."""
    return {
        (schema["properties"]["kind"]["const"], schema["properties"]["apiVersion"]["const"]): schema
        for schema in (serving_runtime(), inference_service(definitions))
    }
