"""The generated identity models: y equals x for every data type and rank, reproducible bytes."""

from __future__ import annotations

import numpy as np
import openvino as ov
import pytest
from ovtriton.backend.dtypes import SUPPORTED, numpy_from_triton, to_openvino
from ovtriton.converter.identity import IDENTITY_PREFIX, identity_ir, identity_model, identity_name
from ovtriton.converter.names import name_problem
from ovtriton.converter.pbtxt import from_text


@pytest.mark.parametrize("datatype", SUPPORTED)
def test_identity_ir_returns_its_input_when_run(datatype: str) -> None:
    compiled = ov.Core().compile_model(identity_ir(datatype, 2), "CPU")
    x = (np.arange(6).reshape(2, 3) % 2).astype(numpy_from_triton(datatype))
    if datatype == "TYPE_STRING":  # OpenVINO takes bytes_ arrays (dtypes.to_openvino)
        x = to_openvino(x.astype(str).astype(np.object_))
        assert [v.encode() for v in compiled({"x": x})["y"].flat] == x.flatten().tolist()
        return
    y = compiled({"x": x})["y"]
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("rank", [0, 1, 3])
def test_identity_model_declares_dynamic_dims_of_its_rank(rank: int) -> None:
    model = identity_model("TYPE_INT64", rank)
    config = from_text(model.config_text)
    assert model.name == identity_name("TYPE_INT64", rank) == config.name
    assert config.backend == "openvino_py" and config.max_batch_size == 0
    expected = [-1] * rank if rank else [1]
    assert [list(t.dims) for t in (*config.input, *config.output)] == [expected, expected]
    assert [str(f.relpath) for f in model.files] == ["1/model.xml", "1/model.bin"]


def test_identity_name_is_reserved_yet_a_valid_folder_name() -> None:
    name = identity_name("TYPE_FP32", 2)
    assert name.startswith(IDENTITY_PREFIX)
    problem = name_problem(name)
    assert problem is not None and "reserved" in problem[0]
    assert name_problem(name[len(IDENTITY_PREFIX) :]) is None


def test_identity_ir_bytes_are_reproducible() -> None:
    first = identity_model("TYPE_FP16", 2)
    identity_model.cache_clear()
    assert identity_model("TYPE_FP16", 2).digest == first.digest
