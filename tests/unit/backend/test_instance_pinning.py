"""Each Triton instance is its own process: the backend turns OpenVINO's CPU pinning off by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from ovtriton.backend.instance import load_engine
from tests.models import save, scale_model


def _config(parameters: dict[str, str]) -> dict:
    return {
        "max_batch_size": 0,
        "input": [{"name": "INPUT/x:0", "data_type": "TYPE_FP32", "dims": [1, 4]}],
        "output": [{"name": "out.y", "data_type": "TYPE_FP32", "dims": [1, 4]}],
        "parameters": {k: {"string_value": v} for k, v in parameters.items()},
    }


@pytest.mark.parametrize(
    ("parameters", "pinned"),
    [
        ({}, False),
        ({"INFERENCE_NUM_THREADS": "1"}, False),
        ({"PLUGIN_CONFIG": '{"ENABLE_CPU_PINNING": true}'}, True),
    ],
)
def test_load_engine_pins_cpu_threads_only_when_asked(
    tmp_path: Path, parameters: dict, pinned: bool
) -> None:
    save(scale_model((1, 4)), tmp_path / "m" / "1")
    engine = load_engine(tmp_path / "m", "1", _config(parameters))
    assert engine.compiled.get_property("ENABLE_CPU_PINNING") is pinned
