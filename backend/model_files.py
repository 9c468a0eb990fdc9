"""Find the model file in a version folder, the way OVMS does.

Priority when config.pbtxt names no ``default_model_filename``: OpenVINO IR (.xml + .bin),
ONNX, PaddlePaddle (.pdmodel + .pdiparams), TensorFlow SavedModel (the folder holding
saved_model.pb), TFLite. Within one kind, the first name in sorted order wins, so the pick is
reproducible (OVMS takes directory-iteration order).
"""

from __future__ import annotations

import json
from pathlib import Path

from .errors import ModelLoadError

MAPPING_FILE = "mapping_config.json"
_KINDS = (  # (suffix, companion suffix that must exist beside it, description)
    (".xml", ".bin", "OpenVINO IR"),
    (".onnx", None, "ONNX"),
    (".pdmodel", ".pdiparams", "PaddlePaddle"),
    (".pb", None, "TensorFlow SavedModel"),
    (".tflite", None, "TFLite"),
)


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
    for suffix, companion, _ in _KINDS:
        found = sorted(p for p in version_dir.iterdir() if p.suffix == suffix and p.is_file())
        if suffix == ".pb":
            found = [p for p in found if p.name == "saved_model.pb"]
        if found:
            _check_companion(found[0])
            return found[0].parent if suffix == ".pb" else found[0]
    kinds = ", ".join(f"{desc} ({suffix})" for suffix, _, desc in _KINDS)
    raise ModelLoadError(
        f"no model file in {version_dir}: expected one of {kinds}, or set "
        f"default_model_filename in config.pbtxt"
    )


def _check_companion(path: Path) -> None:
    for suffix, companion, desc in _KINDS:
        if path.suffix == suffix and companion:
            other = path.with_suffix(companion)
            if not other.is_file():
                raise ModelLoadError(
                    f"{desc} model {path} needs {other.name} beside it; it is missing"
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
