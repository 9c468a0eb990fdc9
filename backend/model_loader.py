"""Load one OpenVINO model the way the backend serves it, for a standalone model
(``instance.py``) and for every node model of a pipeline model (``pipeline_load.py``) alike:
the model file of the version folder, the device check, RESHAPE/LAYOUT/mapping_config.json,
the check against config.pbtxt, the compiled-model cache (``CACHE_DIR``, relative to the
model's folder) and the compile properties (PLUGIN_CONFIG, threads, streams, hint).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import openvino as ov

from .errors import ModelLoadError
from .model_files import find_model_file, read_mapping
from .prepare import prepare_model, read_model
from .settings import BackendSettings
from .signature import Signature

LOGGER = logging.getLogger(__name__)

COMPOSITE_DEVICES = ("AUTO", "MULTI", "HETERO", "BATCH")


@dataclass(frozen=True)
class LoadedModel:
    compiled: ov.CompiledModel
    signature: Signature  # what it serves: names, types, shapes, batching
    path: Path  # the model file read
    properties: dict[str, Any]  # the compile properties, CACHE_DIR included


def load_model(
    core: ov.Core,
    model_dir: Path,
    version: int | str,
    config: Mapping[str, Any],
    settings: BackendSettings,
) -> LoadedModel:
    """Read, shape, check and compile version ``version`` of the model in ``model_dir``
    (its Triton folder) with ``config`` (its config.pbtxt as a dict) and ``settings``."""
    version_dir = model_dir / str(version)
    path = find_model_file(version_dir, config.get("default_model_filename") or "")
    check_device(core, settings.target_device)
    model = prepared_model(core, path, version_dir, config, settings)
    signature = Signature.of(model, max_batch_size(config))
    signature.check_config(config)
    properties = compile_properties(settings, model_dir)
    return LoadedModel(
        compile_model(core, model, settings.target_device, properties),
        signature,
        path,
        properties,
    )


def prepared_model(
    core: ov.Core,
    path: Path,
    version_dir: Path,
    config: Mapping[str, Any],
    settings: BackendSettings,
) -> ov.Model:
    """The model file read and shaped as served (RESHAPE, LAYOUT, mapping_config.json)."""
    model = read_model(core, path)
    return prepare_model(model, settings, max_batch_size(config), read_mapping(version_dir))


def max_batch_size(config: Mapping[str, Any]) -> int:
    return int(config.get("max_batch_size") or 0)


def check_device(core: ov.Core, device: str) -> None:
    """``ModelLoadError`` unless ``device`` is on this machine (composite devices pass)."""
    base = device.split(":")[0].split(".")[0].upper()
    if base in COMPOSITE_DEVICES:
        return
    available = core.available_devices
    if device.upper() not in [d.upper() for d in available] and base not in [
        d.split(".")[0].upper() for d in available
    ]:
        raise ModelLoadError(
            f"parameter TARGET_DEVICE: device {device!r} is not available on this machine; "
            f"available: {', '.join(available)}"
        )


def cache_dir(settings: BackendSettings, model_dir: Path) -> Optional[Path]:
    """The compiled-model cache folder: ``CACHE_DIR``, relative to the model's folder."""
    if not settings.cache_dir:
        return None
    cache = Path(settings.cache_dir)
    return cache if cache.is_absolute() else model_dir / cache


def compile_properties(settings: BackendSettings, model_dir: Path) -> dict[str, Any]:
    properties = settings.compile_properties()
    if settings.target_device.upper() == "CPU":
        # Every instance is its own stub process, and OpenVINO pins each process's threads to
        # the same first cores: two one-thread models then share one core and never overlap.
        # PLUGIN_CONFIG {"ENABLE_CPU_PINNING": true} brings pinning back.
        properties.setdefault("ENABLE_CPU_PINNING", False)
    cache = cache_dir(settings, model_dir)
    if cache is not None:  # per compile, not per Core: a pipeline's nodes each have their own
        properties["CACHE_DIR"] = str(cache)
    return properties


def compile_model(
    core: ov.Core, model: ov.Model, device: str, properties: dict[str, Any]
) -> ov.CompiledModel:
    """``core.compile_model``; a refusal becomes a ``ModelLoadError`` naming the property."""
    try:
        return core.compile_model(model, device, properties)
    except Exception as exc:  # the line naming the refused property, else the first one
        text = str(exc).strip().splitlines()
        detail = next(
            (line for line in text if "not" in line.lower() or "unsupported" in line.lower()),
            text[0] if text else "",
        )
        raise ModelLoadError(
            f"cannot compile the model for {device} with properties {properties} (parameters "
            f"PERFORMANCE_HINT, NUM_STREAMS, INFERENCE_NUM_THREADS, PLUGIN_CONFIG, CACHE_DIR): "
            f"{detail}"
        ) from None
