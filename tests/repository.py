"""Write small Triton model repositories for the tests: config.pbtxt through Triton's protobuf."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Sequence

import openvino as ov
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from ovtriton.backend.prepare import prepare_model
from ovtriton.backend.tensors import describe
from ovtriton.backend.settings import parse_settings
from tests.models import save

Tensor = tuple[str, str, Sequence[int]]  # name, TYPE_*, dims


def write_config(
    model_dir: Path,
    inputs: Sequence[Tensor],
    outputs: Sequence[Tensor],
    max_batch_size: int = 0,
    parameters: Optional[Mapping[str, str]] = None,
    dynamic_batching: bool = False,
    default_model_filename: str = "",
) -> Path:
    config = mc.ModelConfig(
        name=model_dir.name, backend="openvino_py", max_batch_size=max_batch_size
    )
    for name, dtype, dims in inputs:
        config.input.add(name=name, data_type=mc.DataType.Value(dtype), dims=list(dims))
    for name, dtype, dims in outputs:
        config.output.add(name=name, data_type=mc.DataType.Value(dtype), dims=list(dims))
    config.instance_group.add(kind=mc.ModelInstanceGroup.KIND_CPU, count=1)
    if dynamic_batching:
        config.dynamic_batching.max_queue_delay_microseconds = 20000
    for key, value in (parameters or {}).items():
        config.parameters[key].string_value = value
    if default_model_filename:
        config.default_model_filename = default_model_filename
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / "config.pbtxt"
    text = text_format.MessageToString(config)
    if max_batch_size == 0:
        text += "max_batch_size: 0\n"  # text format omits zero fields; say it explicitly
    path.write_text(text)
    return path


def add_model(
    repo: Path,
    name: str,
    model: ov.Model,
    max_batch_size: int = 0,
    parameters: Optional[Mapping[str, str]] = None,
    dynamic_batching: bool = False,
) -> Path:
    """Save ``model`` as ``<repo>/<name>/1/model.xml`` with a config.pbtxt describing it."""
    model_dir = repo / name
    save(model, model_dir / "1")
    shaping = {
        k: {"string_value": v} for k, v in (parameters or {}).items() if k in ("LAYOUT", "RESHAPE")
    }
    settings = parse_settings(shaping)
    served = prepare_model(model.clone(), settings, max_batch_size)  # what the backend serves
    skip = 1 if max_batch_size > 0 else 0
    inputs = [(t.name, t.datatype, t.shape[skip:]) for t in describe(served.inputs)]
    outputs = [(t.name, t.datatype, t.shape[skip:]) for t in describe(served.outputs)]
    write_config(model_dir, inputs, outputs, max_batch_size, parameters, dynamic_batching)
    return model_dir


def write_minimal_config(
    model_dir: Path, max_batch_size: int = 0, parameters: Optional[Mapping[str, str]] = None
) -> Path:
    """A hand-written config.pbtxt with no inputs or outputs: the backend fills them in."""
    lines = [f'name: "{model_dir.name}"', 'backend: "openvino_py"']
    lines.append(f"max_batch_size: {max_batch_size}")
    if max_batch_size > 0:
        lines.append("dynamic_batching { }")
    for key, value in (parameters or {}).items():
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'parameters {{ key: "{key}" value {{ string_value: "{escaped}" }} }}')
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / "config.pbtxt"
    path.write_text("\n".join(lines) + "\n")
    return path
