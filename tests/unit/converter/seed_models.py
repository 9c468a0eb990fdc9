"""Small OpenVINO models built in the tests (no downloads), and the seed's config.json.

The seed's models (OVMS's image-classification ensemble example) are replaced by stand-ins
with the same tensor names, types and shapes: googlenet and resnet take an NCHW image
[1,3,224,224] and give softmax probabilities [1,1001]; argmax sums two [1,1001] inputs and
gives the int64 index of the largest value, shape [1].
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import openvino as ov
from openvino import opset13 as ops

# Step 2 of ovms-ensemble-example.md, verbatim (the base paths are rewritten by write_seed).
SEED_CONFIG = """{
    "model_config_list": [
        {
            "config": {
                "name": "googlenet",
                "base_path": "/models/public/googlenet-v2-tf"
            }
        },
        {
            "config": {
                "name": "resnet",
                "base_path": "/models/public/resnet-50-tf"
            }
        },
        {
            "config": {
                "name": "argmax",
                "base_path": "/models/public/argmax"
            }
        }
    ],
    "pipeline_config_list": [
        {
            "name": "image_classification_pipeline",
            "inputs": ["image"],
            "nodes": [
                {
                    "name": "googlenet_node",
                    "model_name": "googlenet",
                    "type": "DL model",
                    "inputs": [
                        {"input": {"node_name": "request",
                                   "data_item": "image"}}
                    ], 
                    "outputs": [
                        {"data_item": "InceptionV2/Predictions/Softmax",
                         "alias": "probability"}
                    ] 
                },
                {
                    "name": "resnet_node",
                    "model_name": "resnet",
                    "type": "DL model",
                    "inputs": [
                        {"map/TensorArrayStack/TensorArrayGatherV3": {"node_name": "request",
                                                                      "data_item": "image"}}
                    ], 
                    "outputs": [
                        {"data_item": "softmax_tensor",
                         "alias": "probability"}
                    ] 
                },
                {
                    "name": "argmax_node",
                    "model_name": "argmax",
                    "type": "DL model",
                    "inputs": [
                        {"input1": {"node_name": "googlenet_node",
                                    "data_item": "probability"}},
                        {"input2": {"node_name": "resnet_node",
                                    "data_item": "probability"}}
                    ], 
                    "outputs": [
                        {"data_item": "argmax/Squeeze",
                         "alias": "most_probable_label"}
                    ] 
                }
            ],
            "outputs": [
                {"label": {"node_name": "argmax_node",
                           "data_item": "most_probable_label"}}
            ]
        }
    ]
}
"""

SEED_FILES = {  # model -> IR path under <root>/public, as in the example's `tree`
    "googlenet": "googlenet-v2-tf/1/googlenet-v2-tf.xml",
    "resnet": "resnet-50-tf/1/resnet-50-tf.xml",
    "argmax": "argmax/1/saved_model.xml",
}


def save(model: ov.Model, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(path), compress_to_fp16=False)
    return path


def _named(node: ov.Node, name: str) -> ov.Node:
    node.output(0).get_tensor().set_names({name})
    return node


def parameter(name: str, shape: Sequence[int], element: ov.Type = ov.Type.f32) -> ov.Node:
    return _named(
        ops.parameter(ov.PartialShape(list(shape)), element, name=name.replace("/", "_")), name
    )


def classifier(input_name: str, output_name: str, seed: int) -> ov.Model:
    """[1,3,224,224] image -> mean per channel -> dense 3x1001 -> softmax [1,1001]."""
    image = parameter(input_name, [1, 3, 224, 224])
    pooled = ops.reduce_mean(image, np.array([2, 3]), keep_dims=False)
    weights = np.random.default_rng(seed).standard_normal((3, 1001)).astype(np.float32)
    probs = _named(ops.softmax(ops.matmul(pooled, weights, False, False), 1), output_name)
    return ov.Model([probs], [image], f"classifier{seed}")


def argmax_model() -> ov.Model:
    """argmax(input1 + input2, axis 1) -> int64 [1], like the example's argmax_sum.py."""
    first, second = parameter("input1", [1, 1001]), parameter("input2", [1, 1001])
    top = ops.topk(ops.add(first, second), np.array(1, dtype=np.int64), 1, "max", "value", "i64")
    label = _named(ops.squeeze(top.output(1), np.array([1])), "argmax/Squeeze")
    return ov.Model([label], [first, second], "argmax")


def elementwise(
    inputs: Sequence[str],
    output: str,
    shape: Sequence[int],
    element: ov.Type = ov.Type.f32,
    offset: float = 1.0,
) -> ov.Model:
    """output = sum(inputs) + offset, same shape as the inputs (dynamic dims allowed)."""
    params = [parameter(name, shape, element) for name in inputs]
    total = params[0]
    for param in params[1:]:
        total = ops.add(total, param)
    constant = np.array(offset, dtype=element.to_dtype())
    result = _named(ops.add(total, constant), output)
    return ov.Model([result], params, "elementwise")


def image_model(input_name: str = "image", output_name: str = "features") -> ov.Model:
    """NCHW [1,3,8,8] -> mean over H, W -> [1,3]: for layout tests."""
    image = parameter(input_name, [1, 3, 8, 8])
    return ov.Model(
        [_named(ops.reduce_mean(image, np.array([2, 3]), keep_dims=False), output_name)],
        [image],
        "image",
    )


def write_seed(root: Path) -> Path:
    """The seed's three models under ``root/public`` and its config.json, base paths rewritten."""
    save(
        classifier("input", "InceptionV2/Predictions/Softmax", 1),
        root / "public" / SEED_FILES["googlenet"],
    )
    save(
        classifier("map/TensorArrayStack/TensorArrayGatherV3", "softmax_tensor", 2),
        root / "public" / SEED_FILES["resnet"],
    )
    save(argmax_model(), root / "public" / SEED_FILES["argmax"])
    config = root / "config.json"
    config.write_text(SEED_CONFIG.replace("/models/public", str(root / "public")), encoding="utf-8")
    return config


def run_seed_in_process(root: Path, image: np.ndarray) -> np.ndarray:
    """The pipeline computed by running the three models directly with OpenVINO."""
    core = ov.Core()

    def run(key: str, feeds: dict) -> np.ndarray:
        compiled = core.compile_model(str(root / "public" / SEED_FILES[key]), "CPU")
        return next(iter(compiled(feeds).values()))

    first = run("googlenet", {"input": image})
    second = run("resnet", {"map/TensorArrayStack/TensorArrayGatherV3": image})
    return run("argmax", {"input1": first, "input2": second})
