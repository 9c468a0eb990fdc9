"""Load one model instance: its settings, the model (``model_loader``), its engine; and the
tensors ``auto_complete_config`` fills in."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

import openvino as ov

from .engine import Engine
from .errors import ModelLoadError
from .limits import RequestLimits
from .model_files import find_model_file
from .model_loader import load_model, max_batch_size, prepared_model
from .settings import parse_settings
from .signature import Signature

LOGGER = logging.getLogger(__name__)


def load_engine(model_dir: Path, version: str, config: Mapping[str, Any]) -> Engine:
    """Everything ``initialize`` does; raises ``ModelLoadError`` naming the file or parameter."""
    settings = parse_settings(config.get("parameters") or {})
    loaded = load_model(ov.Core(), model_dir, version, config, settings)
    limits = RequestLimits(settings.max_input_bytes, settings.allow_non_finite)
    engine = Engine(loaded.compiled, loaded.signature, settings.nireq, limits)
    LOGGER.info(
        "loaded %s on %s: %d infer request(s), properties %s",
        loaded.path,
        settings.target_device,
        engine.nireq,
        loaded.properties,
    )
    return engine


def served_signature(version_dir: Path, config: Mapping[str, Any]) -> Signature:
    """What the model in ``version_dir`` serves under ``config`` (for ``auto_complete_config``)."""
    settings = parse_settings(config.get("parameters") or {})
    path = find_model_file(version_dir, config.get("default_model_filename") or "")
    model = prepared_model(ov.Core(), path, version_dir, config, settings)
    return Signature.of(model, max_batch_size(config))


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
