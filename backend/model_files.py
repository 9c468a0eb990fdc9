"""Find the model file in a version folder, the way OVMS does.

Priority when config.pbtxt names no ``default_model_filename``: OpenVINO IR (.xml + .bin),
ONNX, PaddlePaddle (.pdmodel + .pdiparams), TensorFlow SavedModel (the folder holding
saved_model.pb), TFLite. Within one kind, the first name in sorted order wins, so the pick is
reproducible (OVMS takes directory-iteration order).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelLoadError

MAPPING_FILE = "mapping_config.json"
SAVED_MODEL_FILE = "saved_model.pb"


@dataclass(frozen=True)
class ModelFileKind:
    """A model format OpenVINO reads: its file suffix and the companion file it needs beside it."""

    suffix: str
    companion: str | None
    description: str


KINDS = (  # in OVMS's order of preference
    ModelFileKind(".xml", ".bin", "OpenVINO IR"),
    ModelFileKind(".onnx", None, "ONNX"),
    ModelFileKind(".pdmodel", ".pdiparams", "PaddlePaddle"),
    ModelFileKind(".pb", None, "TensorFlow SavedModel"),
    ModelFileKind(".tflite", None, "TFLite"),
)
# A base_path may name one model file; a SavedModel is a folder, so it cannot be one.
SINGLE_FILE_KINDS = {kind.suffix: kind for kind in KINDS if kind.suffix != ".pb"}


def find_model_file(version_dir: Path, default_model_filename: str = "") -> Path:
    """The file (or SavedModel folder) OpenVINO should read from ``version_dir``."""
    if not version_dir.is_dir():
        raise ModelLoadError(f"version folder {version_dir} does not exist")
    if default_model_filename:
        path = version_dir / default_model_filename
        if not path.exists():
            raise ModelLoadError(
                f"default_model_filename {default_model_filename!r}: {path} does not exist"
            )
        _check_companion(path)
        return path
    for kind in KINDS:
        found = sorted(p for p in version_dir.iterdir() if p.suffix == kind.suffix and p.is_file())
        if kind.suffix == ".pb":
            found = [p for p in found if p.name == SAVED_MODEL_FILE]
        if found:
            _check_companion(found[0])
            return found[0].parent if kind.suffix == ".pb" else found[0]
    kinds = ", ".join(f"{kind.description} ({kind.suffix})" for kind in KINDS)
    raise ModelLoadError(
        f"no model file in {version_dir}: expected one of {kinds}, or set "
        f"default_model_filename in config.pbtxt"
    )


def companion(path: Path) -> Path | None:
    """The file a model file needs beside it (``model.bin`` for ``model.xml``), if any."""
    kind = next((k for k in KINDS if k.suffix == path.suffix), None)
    return path.with_suffix(kind.companion) if kind and kind.companion else None


def _check_companion(path: Path) -> None:
    other = companion(path)
    if other is not None and not other.is_file():
        kind = next(k for k in KINDS if k.suffix == path.suffix)
        raise ModelLoadError(
            f"{kind.description} model {path} needs {other.name} beside it; it is missing"
        )


def read_mapping(version_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """OVMS's optional ``mapping_config.json``: (inputs, outputs), each model name -> exposed name."""
    path = version_dir / MAPPING_FILE
    if not path.is_file():
        return {}, {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path}: cannot be read as JSON ({exc})") from None
    if not isinstance(data, dict) or set(data) - {"inputs", "outputs"}:
        raise ModelLoadError(f'{path}: expected an object with only "inputs" and "outputs"')
    sections = []
    for key in ("inputs", "outputs"):
        section = data.get(key, {})
        if not isinstance(section, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in section.items()
        ):
            raise ModelLoadError(f"{path}: {key!r} must map tensor names to new names (strings)")
        sections.append(dict(section))
    return sections[0], sections[1]
