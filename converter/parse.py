"""The raw config document -> ``OvmsConfig``, checking OVMS's schema and naming what is unsupported.

Every field of OVMS's schema is either read here or rejected by name with a hint.
"""

from __future__ import annotations

from typing import Any

from . import shapes
from .errors import PathPart, Problems, json_path
from .ovms import (
    ModelEntry,
    OvmsConfig,
    VersionPolicy,
)
from .parse_features import (
    MEDIAPIPE_KEYS,
    TOP_UNSUPPORTED,
    metrics_list,
    model_features,
    top_features,
)
from .parse_pipelines import parse_libraries, parse_pipeline
from .schema import Reader
from .sources import MAX_VERSION

MODEL_KEYS = (
    "name",
    "base_path",
    "batch_size",
    "shape",
    "layout",
    "model_version_policy",
    "nireq",
    "target_device",
    "plugin_config",
    "allow_cache",
    "stateful",
    "custom_loader_options",  # named and checked by parse_features
    *MEDIAPIPE_KEYS,
)
OTHER_LOADERS = frozenset({"custom_loader_options", *MEDIAPIPE_KEYS})
MODEL_UNSUPPORTED = {
    "idle_sequence_cleanup": "stateful models were removed in OVMS 2026.3 and are not supported",
    "low_latency_transformation": "stateful models were removed in OVMS 2026.3 and are not supported",
    "max_sequence_number": "stateful models were removed in OVMS 2026.3 and are not supported",
}
_PREPROCESSING = (
    "OVMS's schema rejects it too (a CLI preprocessing option); bake the "
    "preprocessing into the model, e.g. with OpenVINO's PrePostProcessor"
)
MODEL_REJECTED = {key: _PREPROCESSING for key in ("mean", "scale", "color_format", "precision")}
MODEL_REJECTED["version"] = (
    "OVMS's schema rejects it too; versions are the numbered folders "
    "in base_path, chosen with model_version_policy"
)


def parse_config(doc: Any, problems: Problems) -> OvmsConfig:
    read = Reader(problems)
    top = read.obj(
        doc,
        [],
        (
            "model_config_list",
            "pipeline_config_list",
            "custom_node_library_config_list",
            "monitoring",
            *TOP_UNSUPPORTED,
        ),
        required=("model_config_list",),
    )
    if top is None:
        return OvmsConfig((), ())
    top_features(read, top)
    if "monitoring" in top:
        _monitoring(read, top["monitoring"], problems)
    declared: dict[str, list[str]] = {}
    models = []
    for index, item in enumerate(
        read.array(top.get("model_config_list", []), ["model_config_list"]) or []
    ):
        model = _model(read, item, ["model_config_list", index])
        if model is not None:
            models.append(model)  # also when read with problems: its versions are checked on
        if isinstance(item, dict) and isinstance(item.get("config"), dict):
            name = str(item["config"].get("name"))
            declared.setdefault(name, []).append(json_path("model_config_list", index))
    pipelines = []
    raw_pipelines = read.array(top.get("pipeline_config_list", []), ["pipeline_config_list"]) or []
    for index, item in enumerate(raw_pipelines):
        pipeline = parse_pipeline(read, item, ["pipeline_config_list", index])
        if pipeline is not None:
            pipelines.append(pipeline)  # checked further even when read with problems
        if isinstance(item, dict):
            name = str(item.get("name"))
            declared.setdefault(name, []).append(json_path("pipeline_config_list", index))
    names = {name: tuple(paths) for name, paths in declared.items()}
    libraries = parse_libraries(read, top.get("custom_node_library_config_list", []))
    return OvmsConfig(tuple(models), tuple(pipelines), names, libraries)


def _monitoring(read: Reader, value: Any, problems: Problems) -> None:
    monitoring = read.obj(value, ["monitoring"], ("metrics",), required=("metrics",))
    metrics = (
        read.obj(
            monitoring.get("metrics"),
            ["monitoring", "metrics"],
            ("enable", "metrics_list"),
            required=("enable",),
        )
        if monitoring
        else None
    )
    if metrics is None:
        return
    read.boolean(metrics.get("enable", False), ["monitoring", "metrics", "enable"])
    metrics_list(read, metrics.get("metrics_list", []), ["monitoring", "metrics", "metrics_list"])
    problems.warn(
        "monitoring",
        "not converted: Triton always serves Prometheus metrics",
        "scrape http://<host>:8002/metrics (tritonserver --metrics-port); the metric "
        "names differ from OVMS's (nv_inference_request_success, ...)",
    )


def _model(read: Reader, item: Any, parts: list[PathPart]) -> ModelEntry | None:
    wrapper = read.obj(item, parts, ("config",), required=("config",))
    if wrapper is None or "config" not in wrapper:
        return None
    parts = [*parts, "config"]
    raw = read.obj(
        wrapper["config"],
        parts,
        MODEL_KEYS,
        required=("name",),
        unsupported=MODEL_UNSUPPORTED,
        rejected=MODEL_REJECTED,
    )
    if raw is None:
        return None
    name = read.string(raw.get("name"), [*parts, "name"]) if "name" in raw else None
    mediapipe = model_features(read, raw, parts)
    if "base_path" not in raw and not mediapipe:  # a MediaPipe graph has a default base path
        read.missing(
            parts, "base_path", "the folder holding the numbered version folders, or one model file"
        )
    base_path = read.string(raw["base_path"], [*parts, "base_path"]) if "base_path" in raw else None
    if raw.get("stateful") is True:
        read.add(
            [*parts, "stateful"],
            "'stateful' is not supported by ovtriton yet",
            "stateful models were removed in OVMS 2026.3; Triton's sequence batcher needs "
            "a hand-written model",
        )
    elif "stateful" in raw:
        read.boolean(raw["stateful"], [*parts, "stateful"])
    batch = (
        _batch_size(read, raw.get("batch_size"), [*parts, "batch_size"])
        if "batch_size" in raw
        else None
    )
    shape = (
        _per_tensor(read, raw.get("shape"), [*parts, "shape"], shapes.parse_shape)
        if "shape" in raw
        else None
    )
    layout = (
        _per_tensor(read, raw.get("layout"), [*parts, "layout"], shapes.parse_layout)
        if "layout" in raw
        else None
    )
    target = (
        read.string(raw["target_device"], [*parts, "target_device"], nonempty=False)
        if "target_device" in raw
        else None
    )
    nireq = read.integer(raw.get("nireq", 0), [*parts, "nireq"], 0, 100000)
    allow_cache = read.boolean(raw.get("allow_cache", False), [*parts, "allow_cache"])
    plugin = _plugin_config(read, raw.get("plugin_config", {}), [*parts, "plugin_config"])
    policy = _policy(read, raw.get("model_version_policy"), [*parts, "model_version_policy"])
    if not read.problems.clean(json_path(*parts, "model_version_policy")):
        policy = None  # a policy read with problems would choose wrong versions
    if base_path is None or OTHER_LOADERS & raw.keys():
        return None  # no base path, or a folder that a custom loader or MediaPipe reads
    return ModelEntry(  # also when a field had a problem: base_path and versions are checked on
        path=json_path(*parts),
        name=name or "",
        base_path=base_path,
        batch_size=batch,
        shape=shape,
        layout=layout,
        version_policy=policy or VersionPolicy(),
        nireq=nireq or 0,
        target_device=target,
        plugin_config=plugin or {},
        allow_cache=bool(allow_cache),
    )


def _batch_size(read: Reader, value: Any, parts: list[PathPart]) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        read.add(parts, "expected an integer or a string", 'e.g. 8, "-1" or "1:8"')
        return None
    try:
        shapes.parse_batch_size(str(value))
    except ValueError as exc:
        read.add(parts, str(exc))
        return None
    return str(value).strip().lower()


def _per_tensor(read: Reader, value: Any, parts: list[PathPart], check: Any) -> Any:
    """``shape``/``layout``: a string for the single input, or an object tensor -> string."""
    items = value.items() if isinstance(value, dict) else [(None, value)]
    for key, text in items:
        where = parts if key is None else [*parts, key]
        if key is not None and not read.text(key, where):
            return None
        if not isinstance(text, str):
            read.add(
                where,
                f"expected a string, got {type(text).__name__}",
                'e.g. "(1,3,224,224)" or "NHWC:NCHW"; OVMS\'s schema rejects arrays too',
            )
            return None
        try:
            check(text)
        except ValueError as exc:
            read.add(where, str(exc))
            return None
    return dict(value) if isinstance(value, dict) else value


def _plugin_config(read: Reader, value: Any, parts: list[PathPart]) -> dict[str, Any] | None:
    config = read.obj(value, parts, known=tuple(value) if isinstance(value, dict) else ())
    if config is None:
        return None
    for key, item in config.items():
        if isinstance(item, (dict, list)) or item is None:
            read.add(
                [*parts, key],
                "plugin_config values must be strings, numbers or booleans",
                "OVMS's schema rejects nested values too",
            )
    return config


def _policy(read: Reader, value: Any, parts: list[PathPart]) -> VersionPolicy | None:
    if value is None:
        return None
    raw = read.obj(value, parts, ("latest", "all", "specific"))
    if raw is None:
        return None
    if len(raw) != 1:
        read.add(
            parts,
            "must hold exactly one of 'latest', 'all', 'specific'",
            'e.g. {"latest": {"num_versions": 2}}',
        )
        return None
    kind, body = next(iter(raw.items()))
    if kind == "all":
        read.obj(body, [*parts, "all"], ())
        return VersionPolicy("all")
    if kind == "latest":
        latest = read.obj(body, [*parts, "latest"], ("num_versions",), required=("num_versions",))
        number = (
            read.integer(
                latest.get("num_versions"), [*parts, "latest", "num_versions"], 1, 2**32 - 1
            )
            if latest and "num_versions" in latest
            else None
        )
        return VersionPolicy("latest", num_versions=number) if number else None
    specific = read.obj(body, [*parts, "specific"], ("versions",), required=("versions",))
    versions = (
        read.array(specific.get("versions"), [*parts, "specific", "versions"])
        if specific and "versions" in specific
        else None
    )
    if versions is None:
        return None
    numbers = [
        read.integer(v, [*parts, "specific", "versions", i], 1, MAX_VERSION)
        for i, v in enumerate(versions)
    ]
    if not versions:
        read.add([*parts, "specific", "versions"], "lists no version", "list at least one version")
    return VersionPolicy("specific", versions=tuple(sorted({n for n in numbers if n})))
