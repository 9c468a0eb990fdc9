"""TFS REST bodies: row and column formats, b64 values, answers shaped as TFS shapes them."""

from __future__ import annotations

import base64

import grpc
import numpy as np
import pytest

from ovtriton.tfs import protos
from ovtriton.tfs.errors import TfsError
from ovtriton.tfs.rest_json import predict_request, predict_response
from ovtriton.tfs.tensors import from_numpy, to_numpy

TYPES = {"a": "FP32", "b": "INT64"}


def decoded(request: object) -> dict[str, np.ndarray]:
    return {name: to_numpy(t) for name, t in request.inputs.items()}  # type: ignore[attr-defined]


def test_row_format_stacks_named_rows_with_the_models_datatypes() -> None:
    body = {"instances": [{"a": [1, 2], "b": 3}, {"a": [4, 5], "b": 6}]}
    request, row = predict_request(body, "m", 2, TYPES)
    assert row and request.model_spec.name == "m" and request.model_spec.version.value == 2
    values = decoded(request)
    np.testing.assert_array_equal(values["a"], np.array([[1, 2], [4, 5]], np.float32))
    assert values["a"].dtype == np.float32 and values["b"].dtype == np.int64
    np.testing.assert_array_equal(values["b"], [3, 6])


def test_bare_rows_and_columns_go_to_the_single_input() -> None:
    request, row = predict_request({"instances": [[1.0], [2.0]]}, "m", 0, {"x": "FP16"})
    assert row and to_numpy(request.inputs["x"]).dtype == np.float16
    request, row = predict_request({"inputs": [[1, 2]]}, "m", 0, {"x": "INT32"})
    assert not row and to_numpy(request.inputs["x"]).tolist() == [[1, 2]]


def test_b64_values_become_binary_strings() -> None:
    png = b"\x89PNG\r\n\x1a\n-data"
    body = {"instances": [{"img": {"b64": base64.b64encode(png).decode()}}]}
    request, _ = predict_request(body, "m", 0, {"img": "BYTES"})
    assert list(request.inputs["img"].string_val) == [png]
    assert [d.size for d in request.inputs["img"].tensor_shape.dim] == [1]
    column, _ = predict_request(
        {"inputs": {"img": [{"b64": "YWI="}, "cd"]}}, "m", 0, {"img": "BYTES"}
    )
    assert list(column.inputs["img"].string_val) == [b"ab", b"cd"]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"instances": [1], "inputs": [1]}, "exactly one of"),
        ({}, "exactly one of"),
        ([1, 2], "JSON object"),
        ({"instances": [{"a": 1}, {"b": 2}]}, "instances[1] names inputs ['b']"),
        ({"inputs": [1, 2]}, "the model has 2 inputs (a, b)"),
        ({"inputs": {"c": [1]}}, "input 'c' is not an input of the model"),
        ({"inputs": {"a": [[1], [2, 3]], "b": [1]}}, "input 'a': cannot read the JSON values"),
        ({"inputs": {"a": {"b64": "!!"}, "b": [1]}}, "not valid base64"),
    ],
)
def test_bad_bodies_are_invalid_argument_with_the_reason(body: object, message: str) -> None:
    with pytest.raises(TfsError) as caught:
        predict_request(body, "m", 0, TYPES)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT and caught.value.http_status == 400
    assert message in caught.value.message


def response(**outputs: np.ndarray) -> object:
    message = protos.PredictResponse()
    for name, array in outputs.items():
        message.outputs[name].CopyFrom(from_numpy(array))
    return message


def test_answers_are_bare_for_one_output_and_named_for_several() -> None:
    one = response(y=np.array([[1.5], [2.5]], np.float32))
    assert predict_response(one, row=False) == {"outputs": [[1.5], [2.5]]}
    assert predict_response(one, row=True) == {"predictions": [[1.5], [2.5]]}
    two = response(s=np.array([1, 2], np.int32), p=np.array([3, 4], np.int32))
    assert predict_response(two, row=False) == {"outputs": {"p": [3, 4], "s": [1, 2]}}
    assert predict_response(two, row=True) == {"predictions": [{"p": 3, "s": 1}, {"p": 4, "s": 2}]}


def test_binary_string_outputs_come_back_as_b64() -> None:
    answer = predict_response(response(t=np.array([b"ok", b"\xff\x00"], np.object_)), row=False)
    assert answer == {"outputs": ["ok", {"b64": base64.b64encode(b"\xff\x00").decode()}]}
