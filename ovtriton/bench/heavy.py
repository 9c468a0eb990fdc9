"""The heavy workload: a ResNet-50-shaped classifier (random weights) and an argmax, chained.

Built with OpenVINO's opset API as an OVMS model directory + config.json, like the small
workload: the ResNet-50 v1 layout (7x7 stem, bottleneck stages of 3, 4, 6 and 3 blocks, 64 to
2048 channels, global average pool, 1000 logits) on a 1x3x224x224 FP32 image, about 4.1 G
multiply-adds (the "4 GFLOPs" usually quoted) and 25.5 M weights. Batch norm is folded away
(none is built); He-scaled random weights and a down-scaled residual branch keep activations
finite through the 53 convolutions. The class a random image gets means nothing; what counts
is that the cost is a real ResNet-50's, the model OVMS's own samples serve, so the bench shows
how much Triton's floor matters next to a user's model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Union

import numpy as np
import openvino as ov
from openvino import opset13 as ops

from .small import pipeline_node

PIPELINE = "heavy"
STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # width, blocks, first stride
EXPANSION = 4
CLASSES = 1000
RESIDUAL_SCALE = 0.2  # the last conv of each block, so the sum of 16 blocks stays moderate


Tensor = Union[ov.Node, ov.Output]


def _channels(x: Tensor) -> int:
    shape = x.get_partial_shape() if isinstance(x, ov.Output) else x.get_output_partial_shape(0)
    return int(shape[1].get_length())


def _conv(x: Tensor, rng: np.random.Generator, out: int, kernel: int, stride: int) -> ov.Node:
    channels = _channels(x)
    scale = np.sqrt(2.0 / (channels * kernel * kernel))
    weights = rng.standard_normal((out, channels, kernel, kernel), dtype=np.float32)
    weights *= np.float32(scale)
    pad = kernel // 2
    return ops.convolution(x, weights, [stride] * 2, [pad] * 2, [pad] * 2, [1, 1])


def _bottleneck(x: Tensor, rng: np.random.Generator, width: int, stride: int) -> ov.Node:
    out = width * EXPANSION
    y = ops.relu(_conv(x, rng, width, 1, 1))
    y = ops.relu(_conv(y, rng, width, 3, stride))
    y = ops.multiply(_conv(y, rng, out, 1, 1), np.float32(RESIDUAL_SCALE))
    channels = _channels(x)
    shortcut = x if (stride == 1 and channels == out) else _conv(x, rng, out, 1, stride)
    return ops.relu(ops.add(y, shortcut))


def resnet50(rng: np.random.Generator) -> ov.Model:
    """The classifier: ``image`` [1,3,224,224] FP32 -> ``logits`` [1,1000] FP32."""
    image = ops.parameter([1, 3, 224, 224], np.float32, name="image")
    x = ops.relu(_conv(image, rng, 64, 7, 2))
    # 3x3, stride 2; MaxPool-8 also gives indices: keep the values only
    x = ops.max_pool(x, [2, 2], [1, 1], [1, 1], [1, 1], [3, 3]).output(0)
    for width, blocks, stride in STAGES:
        for block in range(blocks):
            x = _bottleneck(x, rng, width, stride if block == 0 else 1)
    pooled = ops.reduce_mean(x, np.array([2, 3], np.int64), keep_dims=False)
    fc = (rng.standard_normal((512 * EXPANSION, CLASSES)) / np.sqrt(512 * EXPANSION)).astype(
        np.float32
    )
    logits = ops.matmul(pooled, fc, False, False)
    logits.output(0).get_tensor().set_names({"logits"})
    return ov.Model([logits], [image], "resnet50")


def _argmax() -> ov.Model:
    logits = ops.parameter([1, CLASSES], np.float32, name="logits")
    best = ops.topk(logits, np.int64(1), 1, "max", "value", "i64").output(1)
    best.get_tensor().set_names({"best"})
    return ov.Model([best], [logits], "argmax")


def multiply_adds(model: ov.Model) -> int:
    """Multiply-adds of the model's convolutions and matrix products (static shapes)."""
    total = 0
    for op in model.get_ordered_ops():
        kind = op.get_type_name()
        if kind == "Convolution":
            out = int(np.prod(list(op.get_output_shape(0))))
            weights = list(op.input_value(1).get_shape())  # out, in, kh, kw
            total += out * int(np.prod(weights[1:]))
        elif kind == "MatMul":
            rows, inner = list(op.input_value(0).get_shape())
            total += rows * inner * list(op.input_value(1).get_shape())[1]
    return total


def write_heavy_workload(root: Path) -> Path:
    """Write the models and the OVMS config under ``root``; returns the config's path."""
    models = {"resnet50": resnet50(np.random.default_rng(0)), "argmax": _argmax()}
    for name, model in models.items():
        (root / name / "1").mkdir(parents=True, exist_ok=True)
        ov.save_model(model, str(root / name / "1" / "model.xml"), compress_to_fp16=False)
    pipeline = {
        "name": PIPELINE,
        "inputs": ["image"],
        "nodes": [
            pipeline_node("classify", "resnet50", {"image": ("request", "image")}, "logits"),
            pipeline_node("top", "argmax", {"logits": ("classify", "logits")}, "best"),
        ],
        "outputs": [{"best": {"node_name": "top", "data_item": "best"}}],
    }
    config = {
        "model_config_list": [{"config": {"name": n, "base_path": n}} for n in models],
        "pipeline_config_list": [pipeline],
    }
    path = root / "config.json"
    path.write_text(json.dumps(config, indent=1))
    return path
