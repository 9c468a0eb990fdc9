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
    max_batch_size = int(config.get("max_batch_size") or 0)
    version_dir = model_dir / str(version)
    path = find_model_file(version_dir, config.get("default_model_filename") or "")
    core = ov.Core()
    _check_device(core, settings.target_device)
    if settings.cache_dir:
        cache = Path(settings.cache_dir)
        cache = cache if cache.is_absolute() else model_dir / cache
        core.set_property({"CACHE_DIR": str(cache)})
    model = read_model(core, path)
    model = prepare_model(model, settings, max_batch_size, read_mapping(version_dir))
    signature = Signature.of(model, max_batch_size)
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
    except Exception as exc:
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
