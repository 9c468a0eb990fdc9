"""The small workload: two small conv classifiers on a 600 KB image, joined by an argmax.

Generated with OpenVINO's opset API as an OVMS model directory + config.json, so it runs through
``ovtriton bench`` exactly as a user's config does. Its models are cheap (about 1 ms each), so
what the bench shows on it is mostly what serving costs, where the seed shows model time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openvino as ov
from openvino import opset13 as ops

PIPELINE = "small"


def _conv_classifier(rng: np.random.Generator) -> ov.Model:
    image = ops.parameter([1, 3, 224, 224], np.float32, name="image")
    weights = rng.standard_normal((16, 3, 3, 3)).astype(np.float32)
    conv = ops.relu(ops.convolution(image, weights, [2, 2], [1, 1], [1, 1], [1, 1]))
    pooled = ops.reduce_mean(conv, np.array([2, 3], np.int64), keep_dims=False)
    logits = ops.matmul(pooled, rng.standard_normal((16, 10)).astype(np.float32), False, False)
    logits.output(0).get_tensor().set_names({"logits"})
    return ov.Model([logits], [image])


def _argmax() -> ov.Model:
    a = ops.parameter([1, 10], np.float32, name="a")
    b = ops.parameter([1, 10], np.float32, name="b")
    best = ops.topk(ops.add(a, b), np.int64(1), 1, "max", "value", "i64").output(1)
    best.get_tensor().set_names({"best"})
    return ov.Model([best], [a, b])


def pipeline_node(name: str, model: str, inputs: dict[str, tuple[str, str]], output: str) -> dict:
    sources = [{key: {"node_name": n, "data_item": d}} for key, (n, d) in inputs.items()]
    return {
        "name": name,
        "model_name": model,
        "type": "DL model",
        "inputs": sources,
        "outputs": [{"data_item": output, "alias": output}],
    }


def write_small_workload(root: Path) -> Path:
    """Write the models and the OVMS config under ``root``; returns the config's path."""
    rng = np.random.default_rng(0)
    models = {"conv_a": _conv_classifier(rng), "conv_b": _conv_classifier(rng), "argmax": _argmax()}
    for name, model in models.items():
        (root / name / "1").mkdir(parents=True, exist_ok=True)
        ov.save_model(model, str(root / name / "1" / "model.xml"))
    pipeline = {
        "name": PIPELINE,
        "inputs": ["image"],
        "nodes": [
            pipeline_node("a", "conv_a", {"image": ("request", "image")}, "logits"),
            pipeline_node("b", "conv_b", {"image": ("request", "image")}, "logits"),
            pipeline_node("join", "argmax", {"a": ("a", "logits"), "b": ("b", "logits")}, "best"),
        ],
        "outputs": [{"best": {"node_name": "join", "data_item": "best"}}],
    }
    config = {
        "model_config_list": [{"config": {"name": n, "base_path": n}} for n in models],
        "pipeline_config_list": [pipeline],
    }
    path = root / "config.json"
    path.write_text(json.dumps(config, indent=1))
    return path
