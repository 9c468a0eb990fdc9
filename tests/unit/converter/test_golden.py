"""Generated config.pbtxt files equal the golden files (OVTRITON_UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format, text_format
from ovtriton.converter import ConversionOptions, convert
from tritonclient.grpc import model_config_pb2

from tests.unit.converter.golden_cases import CASES

GOLDEN = Path(__file__).parent / "golden"  # written with cores=0: the same on every machine


@pytest.mark.parametrize("case", sorted(CASES))
def test_convert_writes_golden_configs_when_given_case(case: str, tmp_path: Path) -> None:
    config = CASES[case](tmp_path / "ovms")
    summary = convert(config, tmp_path / "repo", options=ConversionOptions(cores=0))
    written = {p.parent.name: p.read_text() for p in (tmp_path / "repo").glob("*/config.pbtxt")}
    assert set(written) == {m.name for m in summary.plan.models}
    golden_dir = GOLDEN / case
    if os.environ.get("OVTRITON_UPDATE_GOLDEN"):
        golden_dir.mkdir(parents=True, exist_ok=True)
        for stale in golden_dir.glob("*.pbtxt"):
            stale.unlink()
        for name, text in written.items():
            (golden_dir / f"{name}.pbtxt").write_text(text)
    expected = {p.stem: p.read_text() for p in golden_dir.glob("*.pbtxt")}
    assert written == expected


def parsed(golden: Path) -> dict[str, Any]:
    """The golden file read by protobuf's own text parser (not ``pbtxt.from_text``)."""
    message = text_format.Parse(golden.read_text(), model_config_pb2.ModelConfig())
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def tensors(config: dict[str, Any], key: str) -> list[tuple[str, str, list[int]]]:
    return [(t["name"], t["data_type"], [int(d) for d in t["dims"]]) for t in config[key]]


@pytest.mark.parametrize(
    "golden", sorted(GOLDEN.glob("*/*.pbtxt")), ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_every_golden_file_is_a_triton_model_config_of_its_folder(golden: Path) -> None:
    config = parsed(golden)
    assert config["name"] == golden.stem  # Triton requires the folder's name
    assert (config.get("backend"), config.get("platform")) in (
        ("openvino_py", None),
        (None, "ensemble"),
    )
    assert "max_batch_size: " in golden.read_text()  # said even when 0 (batching off)


# What the OVMS configs of golden_cases.py ask for, written by hand from OVMS's documented
# meaning (not from the converter): one model or ensemble per feature.
EXPECTED: dict[str, dict[str, Any]] = {
    "batching/range_batch": {  # batch_size "1:8" on a [-1, 4] model: Triton batching up to 8
        "max_batch_size": 8,
        "input": [("x", "TYPE_FP32", [4])],
        "output": [("y", "TYPE_FP32", [4])],
        "dynamic_batching": {},
    },
    "batching/fixed_batch": {  # batch_size 4 on a [1, 4] model: reshaped to [4, 4]
        "max_batch_size": 0,
        "input": [("x", "TYPE_FP32", [4, 4])],
        "parameters": {"RESHAPE": '{"x": [4, 4]}'},
    },
    "devices/auto_device": {  # target_device "" = AUTO, nireq, allow_cache, plugin_config
        "parameters": {
            "TARGET_DEVICE": "AUTO",
            "NIREQ": "2",
            "CACHE_DIR": "cache",
            "PLUGIN_CONFIG": '{"NUM_STREAMS": "1", "PERFORMANCE_HINT": "LATENCY"}',
        },
    },
    "devices/nhwc": {"parameters": {"LAYOUT": '{"image": "NHWC:NCHW"}'}},
    "versions/specific": {"version_policy": {"specific": {"versions": ["1", "3"]}}},  # int64: text
    "versions/latest2": {"version_policy": {"latest": {"num_versions": 2}}},
    "versions/all_versions": {"version_policy": {"all": {}}},
    "pipelines/diamond": {  # left (add v1) and right (add v2) from "in", joined by sum
        "platform": "ensemble",
        "input": [("in", "TYPE_FP32", [1, 4])],
        "output": [("sum", "TYPE_FP32", [1, 4]), ("left", "TYPE_FP32", [1, 4])],
        "steps": [
            ("add", 1, {"x": "in"}, {"y": "left"}),
            ("add", 2, {"x": "in"}, {"y": "right/out"}),
            ("sum", -1, {"a": "left", "b": "right/out"}, {"y": "sum"}),
        ],
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_golden_files_say_what_the_ovms_config_asks_for(name: str) -> None:
    config = parsed(GOLDEN / f"{name}.pbtxt")
    for key, want in EXPECTED[name].items():
        if key in ("input", "output"):
            assert tensors(config, key) == want
        elif key == "parameters":
            got = {k: v["string_value"] for k, v in config["parameters"].items()}
            assert {k: got.get(k) for k in want} == want
        elif key == "steps":
            steps = config["ensemble_scheduling"]["step"]
            got_steps = [
                (s["model_name"], int(s["model_version"]), s["input_map"], s["output_map"])
                for s in steps
            ]
            assert got_steps == want
        elif key == "max_batch_size":
            assert int(config.get(key, 0)) == want
        else:
            assert config.get(key) == want, key
