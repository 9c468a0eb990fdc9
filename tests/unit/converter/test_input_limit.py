"""MAX_INPUT_BYTES written for models whose input dims are dynamic (converter/input_limit.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest
from ovtriton.backend.settings import parse_settings
from ovtriton.cli import main
from ovtriton.converter import ConversionOptions, plan
from ovtriton.converter.input_limit import DEFAULT_MAX_INPUT_BYTES
from ovtriton.converter.pbtxt import from_text

from tests.unit.converter.golden_cases import batching


def limits(config: Path, override: Optional[int] = None) -> dict[str, Optional[int]]:
    """Model name -> the MAX_INPUT_BYTES its config.pbtxt sets (None: no parameter), checked
    to be what the backend reads."""
    result: dict[str, Optional[int]] = {}
    for model in plan(config, options=ConversionOptions(max_input_bytes=override)).models:
        parameters = from_text(model.config_text).parameters
        if "MAX_INPUT_BYTES" in parameters:
            settings = parse_settings(
                {k: {"string_value": v.string_value} for k, v in parameters.items()}
            )
            result[model.name] = settings.max_input_bytes
        else:
            result[model.name] = None
    return result


def test_dynamic_dims_get_the_largest_request_their_ranges_allow_else_the_default(
    tmp_path: Path,
) -> None:
    assert limits(batching(tmp_path)) == {
        "range_batch": None,  # [4] with max_batch_size 8: Triton checks the whole shape
        "fixed_batch": None,  # reshaped to [4, 4]: fixed
        "any_batch": DEFAULT_MAX_INPUT_BYTES,  # [-1, 4]: unbounded
        "one_shape": DEFAULT_MAX_INPUT_BYTES,
        "shaped": 2 * 6 * 4,  # inputs a and b, FP32 [1, 2:6]: at most 48 bytes together
    }


@pytest.mark.parametrize(("override", "expected"), [(1000, 1000), (0, None)])
def test_the_override_replaces_the_limit_of_dynamic_models_only(
    tmp_path: Path, override: int, expected: Optional[int]
) -> None:
    assert limits(batching(tmp_path), override) == {
        "range_batch": None,
        "fixed_batch": None,
        "any_batch": expected,
        "one_shape": expected,
        "shaped": expected,
    }


def test_convert_flag_writes_the_limit_and_refuses_a_negative_one(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    config = batching(tmp_path / "ovms")
    out = tmp_path / "repo"
    assert main(["convert", str(config), "-o", str(out), "--max-input-bytes", "4096"]) == 0
    assert 'string_value: "4096"' in (out / "one_shape" / "config.pbtxt").read_text()
    assert "MAX_INPUT_BYTES" not in (out / "fixed_batch" / "config.pbtxt").read_text()
    assert main(["convert", str(config), "-o", str(out), "--max-input-bytes", "-1"]) == 2
    assert "'-1' is not a byte count (0 or more)" in capsys.readouterr().err


def dynamic_pipeline(folder: Path) -> Path:
    """One model with dims [-1, -1] and a pipeline of it (its inputs dynamic too)."""
    import json

    from tests.models import save, scale_model

    save(scale_model((-1, -1)), folder / "models" / "dyn" / "1")
    node = {
        "name": "n",
        "model_name": "dyn",
        "type": "DL model",
        "inputs": [{"INPUT/x:0": {"node_name": "request", "data_item": "x"}}],
        "outputs": [{"data_item": "out.y", "alias": "y"}],
    }
    pipeline = {
        "name": "p",
        "inputs": ["x"],
        "nodes": [node],
        "outputs": [{"y": {"node_name": "n", "data_item": "y"}}],
    }
    config = folder / "config.json"
    config.write_text(
        json.dumps(
            {
                "model_config_list": [{"config": {"name": "dyn", "base_path": "models/dyn"}}],
                "pipeline_config_list": [pipeline],
            }
        )
    )
    return config


@pytest.mark.parametrize(
    ("override", "expected"), [(None, DEFAULT_MAX_INPUT_BYTES), (1000, 1000), (0, None)]
)
def test_pipeline_models_with_dynamic_inputs_get_the_limit_too(
    tmp_path: Path, override: Optional[int], expected: Optional[int]
) -> None:
    config = dynamic_pipeline(tmp_path)
    written = {}
    for model in plan(
        config, options=ConversionOptions(max_input_bytes=override, pipeline_form="model")
    ).models:
        parameters = from_text(model.config_text).parameters
        limit = (
            parameters["MAX_INPUT_BYTES"].string_value if "MAX_INPUT_BYTES" in parameters else None
        )
        written[model.name] = int(limit) if limit is not None else None
    assert written == {"dyn": expected, "p": expected}
