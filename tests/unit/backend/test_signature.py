"""Signature: what a prepared model takes and gives, checked per request with exact messages."""

from __future__ import annotations

import numpy as np
import pytest
from ovtriton.backend.errors import RequestError
from ovtriton.backend.prepare import prepare_model
from ovtriton.backend.settings import BackendSettings
from ovtriton.backend.signature import Signature, bounds_text, dims_of, intersect, overlap
from ovtriton.backend.tensors import TensorSpec

from tests.models import scale_model, two_input_model


def batched(max_batch_size: int = 4) -> Signature:
    model = prepare_model(two_input_model(), BackendSettings(), max_batch_size)
    return Signature.of(model, max_batch_size)


def test_signature_lists_tensor_specs_in_model_order_with_batch_range() -> None:
    signature = batched()
    assert signature.inputs == (
        TensorSpec("a", "TYPE_FP32", (-1, 3)),
        TensorSpec("b", "TYPE_FP32", (-1, 3)),
    )
    assert [s.name for s in signature.outputs] == ["sum", "prod"]
    assert signature.shape_text(signature.inputs[0]) == "[1:4,3]"


def test_shape_text_shows_static_any_and_open_ranges() -> None:
    model = scale_model((-1, 4))
    signature = Signature.of(model, 0)
    assert signature.shape_text(signature.inputs[0]) == "[-1,4]"


def test_check_request_returns_the_batch_size() -> None:
    ones = np.ones((3, 3), np.float32)
    assert batched().check_request({"a": ones, "b": ones}) == 3


@pytest.mark.parametrize(
    ("tensors", "message"),
    [
        (
            {"a": np.ones((1, 3), np.float32)},
            "missing input(s) 'b'; the model takes ['a', 'b']",
        ),
        (
            {"a": np.ones((1, 3), np.float32), "b": np.ones((1, 3), np.float32), "c": np.ones(1)},
            "unexpected input(s) 'c'; the model takes ['a', 'b']",
        ),
        (
            {"a": np.ones((1, 3), np.float64), "b": np.ones((1, 3), np.float32)},
            "input 'a': expected data type FP32, got FP64",
        ),
        (
            {"a": np.ones((1, 3), np.complex64), "b": np.ones((1, 3), np.float32)},
            "input 'a': expected data type FP32, got complex64",
        ),
        (
            {"a": np.ones((5, 3), np.float32), "b": np.ones((5, 3), np.float32)},
            "input 'a': expected shape [1:4,3], got [5,3]",
        ),
        (
            {"a": np.ones((2, 3), np.float32), "b": np.ones((1, 3), np.float32)},
            "input 'b': batch size 1 differs from the other inputs' 2",
        ),
    ],
)
def test_check_request_names_the_input_and_what_was_expected(
    tensors: dict[str, np.ndarray], message: str
) -> None:
    with pytest.raises(RequestError) as info:
        batched().check_request(tensors)
    assert str(info.value) == message


def test_intersect_gives_the_sizes_both_bounds_allow() -> None:
    assert intersect(((1, 20), (3, 3)), ((15, 30), (0, None))) == ((15, 20), (3, 3))
    assert intersect(((1, None),), ((5, 5),)) == ((5, 5),)
    assert intersect(((30, 40),), ((41, 60),)) is None
    assert intersect(((1, 1),), ((1, 1), (2, 2))) is None  # ranks differ
    assert overlap(((30, 40),), ((40, 60),)) and not overlap(((30, 40),), ((41, 60),))
    assert dims_of(((15, 20), (3, 3), (0, None))) == (-1, 3, -1)
    assert bounds_text(((15, 20), (3, 3), (0, None), (1, None))) == "[15:20,3,-1,1:]"
