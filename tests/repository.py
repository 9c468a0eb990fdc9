"""Write small Triton model repositories for the tests: config.pbtxt through Triton's protobuf."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Sequence

import openvino as ov
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2 as mc

from tests.models import save

ConfigTensor = tuple[str, str, Sequence[int]]  # a config.pbtxt tensor: name, TYPE_*, dims


def write_config(
    model_dir: Path,
    inputs: Sequence[ConfigTensor],
    outputs: Sequence[ConfigTensor],
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
    tensors: Optional[tuple[Sequence[ConfigTensor], Sequence[ConfigTensor]]] = None,
) -> Path:
    """Save ``model`` as ``<repo>/<name>/1/model.xml`` with a config.pbtxt describing it.

    The config's tensors are written here, not asked of the backend (so a bug in the backend's
    shaping cannot hide behind a config derived by that same code): given as ``tensors``
    (inputs, outputs), or read from the plain model file, without dimension 0 when batching.
    Models shaped by RESHAPE or LAYOUT must give ``tensors``.
    """
    model_dir = repo / name
    save(model, model_dir / "1")
    if tensors is None:
        if {"LAYOUT", "RESHAPE"} & set(parameters or {}):
            raise ValueError(f"{name}: RESHAPE/LAYOUT change the tensors; pass tensors=")
        skip = 1 if max_batch_size > 0 else 0
        tensors = (
            [_tensor(p, skip) for p in model.inputs],
            [_tensor(p, skip) for p in model.outputs],
        )
    write_config(model_dir, tensors[0], tensors[1], max_batch_size, parameters, dynamic_batching)
    return model_dir


_TRITON_TYPES = {"f32": "TYPE_FP32", "i64": "TYPE_INT64", "boolean": "TYPE_BOOL"}


def _tensor(port: ov.Output, skip: int) -> ConfigTensor:
    dims = [d.get_length() if d.is_static else -1 for d in port.get_partial_shape()]
    return port.get_any_name(), _TRITON_TYPES[port.get_element_type().get_type_name()], dims[skip:]


def write_minimal_config(
    model_dir: Path,
    max_batch_size: int = 0,
    parameters: Optional[Mapping[str, str]] = None,
    extra: str = "",
) -> Path:
    """A hand-written config.pbtxt with no inputs or outputs: the backend fills them in."""
    lines = [f'name: "{model_dir.name}"', 'backend: "openvino_py"', *extra.splitlines()]
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
