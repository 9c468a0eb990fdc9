"""The floor's zero-compute models: written next to the converted models, same tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from ovtriton.bench.floor import write_floor, zero_openvino_model

BATCHED = {
    "name": "m",
    "max_batch_size": 4,
    "input": [{"name": "image", "data_type": "TYPE_FP32", "dims": ["3", "8"]}],
    "output": [
        {"name": "label", "data_type": "TYPE_INT64", "dims": ["1"]},
        {"name": "probs", "data_type": "TYPE_FP32", "dims": ["-1"]},
    ],
    "dynamic_batching": {},
    "parameters": {"NUM_STREAMS": {"string_value": "1"}},
}
ENSEMBLE = {
    "name": "pipe",
    "platform": "ensemble",
    "max_batch_size": 0,
    "input": [{"name": "x", "data_type": "TYPE_FP32", "dims": ["-1", "3", "8"]}],
    "output": [{"name": "y", "data_type": "TYPE_INT64", "dims": ["-1", "1"]}],
    "ensemble_scheduling": {
        "step": [
            {
                "model_name": "m",
                "model_version": "-1",
                "input_map": {"image": "x"},
                "output_map": {"label": "y"},
            }
        ]
    },
}


def test_zero_openvino_model_answers_zeros_of_the_declared_shapes_for_any_batch() -> None:
    compiled = ov.Core().compile_model(zero_openvino_model(BATCHED), "CPU")
    result = compiled({"image": np.ones((3, 3, 8), np.float32)})
    label, probs = result[compiled.output("label")], result[compiled.output("probs")]
    assert label.shape == (3, 1) and label.dtype == np.int64 and not label.any()
    assert probs.shape == (3, 1) and probs.dtype == np.float32 and not probs.any()
    unbatched = ov.Core().compile_model(zero_openvino_model(ENSEMBLE), "CPU")
    y = unbatched({"x": np.ones((2, 3, 8), np.float32)})[unbatched.output("y")]
    assert y.shape == (2, 1)


def test_write_floor_adds_a_python_model_an_openvino_model_and_a_zero_ensemble(
    tmp_path: Path,
) -> None:
    names = write_floor(tmp_path, {"m": BATCHED, "pipe": ENSEMBLE}, "pipe")
    assert names == ("pipe__floor", "pipe__floor_ensemble", "pipe__floor_openvino")

    def config(name: str) -> model_config_pb2.ModelConfig:
        text = (tmp_path / name / "config.pbtxt").read_text()
        return text_format.Parse(text, model_config_pb2.ModelConfig())

    floor, zero = config("pipe__floor"), config("m__zero")
    assert floor.backend == "python" and [t.name for t in floor.input] == ["x"]
    assert (tmp_path / "pipe__floor" / "1" / "model.py").is_file()
    assert zero.backend == "python" and zero.max_batch_size == 4 and not zero.parameters
    assert zero.HasField("dynamic_batching")
    ensemble = config("pipe__floor_ensemble")
    (step,) = ensemble.ensemble_scheduling.step
    assert (step.model_name, step.model_version) == ("m__zero", -1)
    assert config("pipe__floor_openvino").backend == "openvino_py"
    assert (tmp_path / "pipe__floor_openvino" / "1" / "model.xml").is_file()
