"""The argmax model built with OpenVINO's opset API, run in-process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov
import pytest

from ovtriton.errors import UserError
from ovtriton.seed.models import ARGMAX_OUTPUT, build_argmax, build_models, is_built


def test_argmax_returns_the_index_of_the_largest_sum() -> None:
    compiled = ov.Core().compile_model(build_argmax(), "CPU")
    rng = np.random.default_rng(0)
    for _ in range(5):
        first, second = (
            rng.random((1, 1000), dtype=np.float32),
            rng.random((1, 1000), dtype=np.float32),
        )
        label = compiled([first, second])[compiled.output(ARGMAX_OUTPUT)]
        assert label.dtype == np.int64 and label.shape == (1,)
        assert label[0] == np.argmax(first + second)


def test_argmax_picks_what_neither_input_alone_would() -> None:
    compiled = ov.Core().compile_model(build_argmax(4), "CPU")
    first = np.array([[0.5, 0.4, 0.1, 0.0]], np.float32)
    second = np.array([[0.0, 0.4, 0.1, 0.5]], np.float32)
    assert compiled([first, second])[0].tolist() == [1]


def test_argmax_has_the_seed_names_and_shapes() -> None:
    model = build_argmax()
    assert [(p.get_any_name(), p.get_partial_shape().to_shape()) for p in model.inputs] == [
        ("input1", ov.Shape([1, 1000])),
        ("input2", ov.Shape([1, 1000])),
    ]
    assert model.output(0).get_any_name() == "argmax"


def test_build_models_writes_the_ovms_layout_and_skips_what_is_built(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    built = build_models({"argmax": tmp_path / "argmax"})
    assert built["argmax"] == tmp_path / "argmax" / "1" / "model.xml"
    assert is_built(tmp_path / "argmax")
    stamp = built["argmax"].stat().st_mtime_ns
    build_models({"argmax": tmp_path / "argmax"})
    assert built["argmax"].stat().st_mtime_ns == stamp
    assert "already built" in caplog.text
    assert not list((tmp_path / "argmax").glob(".building-*"))


def test_build_models_refuses_an_unknown_model(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no recipe for model"):
        build_models({"resnet": tmp_path / "resnet"})
