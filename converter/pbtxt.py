"""config.pbtxt text from Triton's own ``ModelConfig`` protobuf message, and back.

Protobuf's text format leaves out fields equal to their default, so ``max_batch_size: 0`` would
vanish; it is written anyway (as pytriton does) so the file says that batching is off.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf import json_format, text_format
from ovtriton.backend.tensors import TensorSpec
from tritonclient.grpc import model_config_pb2

ModelConfig = model_config_pb2.ModelConfig


def to_text(config: model_config_pb2.ModelConfig) -> str:
    text = text_format.MessageToString(config)
    if config.max_batch_size == 0:
        lines = text.splitlines(keepends=True)
        # after the top-level name/platform/backend lines, where Triton's examples put it
        at = next(
            (
                i
                for i, line in enumerate(lines)
                if not line.startswith(("name:", "platform:", "backend:"))
            ),
            len(lines),
        )
        lines.insert(at, "max_batch_size: 0\n")
        text = "".join(lines)
    return text


def from_text(text: str) -> model_config_pb2.ModelConfig:
    return text_format.Parse(text, ModelConfig())


def add_tensors(target: Any, specs: Iterable[TensorSpec], batched: bool) -> None:
    """Append each spec to ``config.input`` or ``config.output`` as the backend spells it."""
    for spec in specs:
        json_format.ParseDict(spec.config_entry(batched), target.add())
