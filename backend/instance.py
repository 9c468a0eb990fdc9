"""Load one model instance: settings, model file, shaping, config check, compile, engine."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

import openvino as ov

from .engine import Engine
from .errors import ModelLoadError
from .limits import RequestLimits
from .model_files import find_model_file, read_mapping
from .prepare import prepare_model, read_model
from .settings import BackendSettings, parse_settings
from .signature import Signature

LOGGER = logging.getLogger(__name__)

_COMPOSITE_DEVICES = ("AUTO", "MULTI", "HETERO", "BATCH")


def load_engine(model_dir: Path, version: str, config: Mapping[str, Any]) -> Engine:
    """Everything ``initialize`` does; raises ``ModelLoadError`` naming the file or parameter."""
    settings = parse_settings(config.get("parameters") or {})
    version_dir = model_dir / str(version)
    path = find_model_file(version_dir, config.get("default_model_filename") or "")
    core = ov.Core()
    _check_device(core, settings.target_device)
    if settings.cache_dir:
        cache = Path(settings.cache_dir)
        cache = cache if cache.is_absolute() else model_dir / cache
        core.set_property({"CACHE_DIR": str(cache)})
    model = _prepared(core, path, version_dir, config, settings)
    signature = Signature.of(model, _max_batch_size(config))
    signature.check_config(config)
    compiled = _compile(core, model, settings)
    limits = RequestLimits(settings.max_input_bytes, settings.allow_non_finite)
    engine = Engine(compiled, signature, settings.nireq, limits)
    LOGGER.info(
        "loaded %s on %s: %d infer request(s), properties %s",
        path,
        settings.target_device,
        engine.nireq,
        settings.compile_properties(),
    )
    return engine


def served_signature(version_dir: Path, config: Mapping[str, Any]) -> Signature:
    """What the model in ``version_dir`` serves under ``config`` (for ``auto_complete_config``)."""
    settings = parse_settings(config.get("parameters") or {})
    path = find_model_file(version_dir, config.get("default_model_filename") or "")
    model = _prepared(ov.Core(), path, version_dir, config, settings)
    return Signature.of(model, _max_batch_size(config))


def _prepared(
    core: ov.Core,
    path: Path,
    version_dir: Path,
    config: Mapping[str, Any],
    settings: BackendSettings,
) -> ov.Model:
    model = read_model(core, path)
    return prepare_model(model, settings, _max_batch_size(config), read_mapping(version_dir))


def _max_batch_size(config: Mapping[str, Any]) -> int:
    return int(config.get("max_batch_size") or 0)


def _check_device(core: ov.Core, device: str) -> None:
    base = device.split(":")[0].split(".")[0].upper()
    if base in _COMPOSITE_DEVICES:
        return
    available = core.available_devices
    if device.upper() not in [d.upper() for d in available] and base not in [
        d.split(".")[0].upper() for d in available
    ]:
        raise ModelLoadError(
            f"parameter TARGET_DEVICE: device {device!r} is not available on this machine; "
            f"available: {', '.join(available)}"
        )


def _compile(core: ov.Core, model: ov.Model, settings: BackendSettings) -> ov.CompiledModel:
    properties = settings.compile_properties()
    if settings.target_device.upper() == "CPU":
        # Every instance is its own stub process, and OpenVINO pins each process's threads to
        # the same first cores: two one-thread models then share one core and never overlap.
        # PLUGIN_CONFIG {"ENABLE_CPU_PINNING": true} brings pinning back.
        properties.setdefault("ENABLE_CPU_PINNING", False)
    try:
        return core.compile_model(model, settings.target_device, properties)
    except Exception as exc:  # the line naming the refused property, else the first one
        text = str(exc).strip().splitlines()
        detail = next(
            (line for line in text if "not" in line.lower() or "unsupported" in line.lower()),
            text[0] if text else "",
        )
        raise ModelLoadError(
            f"cannot compile the model for {settings.target_device} with properties "
            f"{properties} (parameters PERFORMANCE_HINT, NUM_STREAMS, INFERENCE_NUM_THREADS, "
            f"PLUGIN_CONFIG): {detail}"
        ) from None


def completed_tensors(
    version_dir: Path, config: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The config entries of the inputs and outputs config.pbtxt leaves out (``auto_complete_config``).

    Tensors come from the model file after RESHAPE, LAYOUT and mapping_config.json, without the
    batch dimension when ``max_batch_size`` > 0. A section the config already has is kept as
    written (and checked against the model when the model loads).
    """
    signature = served_signature(version_dir, config)
    batched = signature.max_batch_size > 0
    sections: list[list[dict[str, Any]]] = []
    for key, specs in (("input", signature.inputs), ("output", signature.outputs)):
        if config.get(key):
            sections.append([])
            continue
        entries = [spec.config_entry(batched) for spec in specs]
        scalars = [entry["name"] for entry in entries if "reshape" in entry]
        if scalars:
            raise ModelLoadError(
                f"{key} {scalars[0]!r} is a scalar, which Triton cannot declare without "
                f"reshape; write the {key}s in config.pbtxt, e.g. dims: [ 1 ] reshape: "
                f"{{ shape: [ ] }}"
            )
        sections.append(entries)
    return sections[0], sections[1]
