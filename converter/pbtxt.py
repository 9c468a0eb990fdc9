"""config.pbtxt text from Triton's own ``ModelConfig`` protobuf message, and back.

Protobuf's text format leaves out fields equal to their default, so ``max_batch_size: 0`` would
vanish; it is written anyway (as pytriton does) so the file says that batching is off.
"""

from __future__ import annotations

from google.protobuf import text_format
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


def data_type(triton_type: str) -> int:
    """``"TYPE_FP32"`` -> the ``DataType`` enum value."""
    return model_config_pb2.DataType.Value(triton_type)
