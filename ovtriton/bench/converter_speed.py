"""Converter speed: a generated OVMS config of many small models and pipelines, timed.

``plan`` + ``convert`` are timed as a whole; then the same model files are read again by
OpenVINO's ``read_model`` alone and timed, so the report can say how long the converter itself
takes beyond reading models.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
from openvino import opset13 as ops

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConverterTiming:
    models: int
    pipelines: int
    total_s: float  # plan + convert
    reading_s: float  # the same model files read by read_model alone, timed separately
    plan_s: float
    write_s: float

    @property
    def rest_s(self) -> float:
        return self.total_s - self.reading_s

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rest_s": self.rest_s}


def _model(index: int) -> ov.Model:
    x = ops.parameter([1, 16], np.float32, name="x")
    y = ops.add(ops.relu(x), ops.constant(np.full([1, 16], index, np.float32)))
    y.output(0).get_tensor().set_names({"y"})
    return ov.Model([y], [x], f"m{index}")


def write_config(folder: Path, models: int, pipelines: int) -> Path:
    """``models`` IRs and a config whose pipelines chain two of them each."""
    if models < 2 * pipelines:
        raise ValueError("every pipeline uses two models of its own")
    entries, pipes = [], []
    for i in range(models):
        version = folder / "models" / f"m{i}" / "1"
        version.mkdir(parents=True, exist_ok=True)
        ov.save_model(_model(i), str(version / "model.xml"), compress_to_fp16=False)
        entries.append({"config": {"name": f"m{i}", "base_path": f"models/m{i}"}})
    for p in range(pipelines):
        a, b = f"m{2 * p}", f"m{2 * p + 1}"
        pipes.append(
            {
                "name": f"pipe{p}",
                "inputs": ["x"],
                "nodes": [
                    {
                        "name": "first",
                        "model_name": a,
                        "type": "DL model",
                        "inputs": [{"x": {"node_name": "request", "data_item": "x"}}],
                        "outputs": [{"data_item": "y", "alias": "y"}],
                    },
                    {
                        "name": "second",
                        "model_name": b,
                        "type": "DL model",
                        "inputs": [{"x": {"node_name": "first", "data_item": "y"}}],
                        "outputs": [{"data_item": "y", "alias": "y"}],
                    },
                ],
                "outputs": [{"y": {"node_name": "second", "data_item": "y"}}],
            }
        )
    path = folder / "config.json"
    path.write_text(json.dumps({"model_config_list": entries, "pipeline_config_list": pipes}))
    return path


def time_converter(folder: Path, models: int = 200, pipelines: int = 100) -> ConverterTiming:
    from ovtriton.converter import convert, plan

    if folder.exists():
        shutil.rmtree(folder)
    config = write_config(folder, models, pipelines)
    t0 = time.perf_counter()
    planned = plan(config)
    t1 = time.perf_counter()
    convert(config, folder / "triton", force=True, planned=planned)
    t2 = time.perf_counter()
    core = ov.Core()
    for xml in sorted((folder / "models").glob("*/1/model.xml")):
        core.read_model(str(xml))
    reading = time.perf_counter() - t2
    timing = ConverterTiming(models, pipelines, t2 - t0, reading, t1 - t0, t2 - t1)
    LOGGER.info(
        "converter: %d models + %d pipelines in %.2f s (%.2f s reading models)",
        models,
        pipelines,
        timing.total_s,
        timing.reading_s,
    )
    return timing
