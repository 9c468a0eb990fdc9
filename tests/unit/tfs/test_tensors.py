"""TensorProto encodings both ways, checked against ovmsclient's own generated TFS classes."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from ovtriton.tfs import protos
from ovtriton.tfs.errors import TfsError
from ovtriton.tfs.tensors import (
    deserialize_bytes,
    from_numpy,
    from_triton,
    to_numpy,
    to_triton,
)

NUMERIC = [
    np.float32,
    np.float64,
    np.float16,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.bool_,
]


def sample(dtype: type) -> np.ndarray:
    return (np.arange(6).reshape(2, 3) % 5).astype(dtype)


@pytest.mark.parametrize("typed", [False, True], ids=["tensor_content", "typed_val"])
@pytest.mark.parametrize("dtype", NUMERIC, ids=lambda d: np.dtype(d).name)
def test_tensor_round_trips_when_encoded_either_way(dtype: type, typed: bool) -> None:
    array = sample(dtype)
    tensor = protos.TensorProto.FromString(from_numpy(array, typed=typed).SerializeToString())
    assert bool(tensor.tensor_content) != typed
    decoded = to_numpy(tensor)
    assert decoded.dtype == array.dtype and decoded.shape == (2, 3)
    np.testing.assert_array_equal(decoded, array)
    datatype, shape, raw = to_triton("x", tensor)
    assert shape == [2, 3] and raw == array.tobytes()


def test_half_val_carries_fp16_bit_patterns() -> None:
    tensor = from_numpy(np.array([1.5, -2.0], np.float16), typed=True)
    assert list(tensor.half_val) == [0x3E00, 0xC000]
    np.testing.assert_array_equal(to_numpy(tensor), np.array([1.5, -2.0], np.float16))


def test_single_typed_value_fills_the_shape_as_in_tensorflow() -> None:
    tensor = protos.TensorProto(dtype=1, float_val=[7.0])
    tensor.tensor_shape.dim.add(size=2)
    tensor.tensor_shape.dim.add(size=2)
    np.testing.assert_array_equal(to_numpy(tensor), np.full((2, 2), 7.0, np.float32))


def test_tensor_is_refused_when_values_do_not_fill_the_shape() -> None:
    tensor = protos.TensorProto(dtype=1, float_val=[1.0, 2.0, 3.0])
    tensor.tensor_shape.dim.add(size=2)
    with pytest.raises(TfsError) as caught:
        to_numpy(tensor, "image")
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "'image'" in caught.value.message and "holds 2 values" in caught.value.message


def test_strings_go_to_triton_as_length_prefixed_bytes_and_back() -> None:
    tensor = from_numpy(np.array(["ab", "ćd"]))
    assert tensor.dtype == 7 and list(tensor.string_val) == [b"ab", "ćd".encode()]
    datatype, shape, raw = to_triton("s", tensor)
    assert (datatype, shape) == ("BYTES", [2])
    assert deserialize_bytes(raw) == [b"ab", "ćd".encode()]
    back = from_triton("BYTES", [2], raw)
    assert list(back.string_val) == [b"ab", "ćd".encode()]


def test_response_tensor_uses_tensor_content_for_numbers() -> None:
    array = np.array([[1, 2]], np.int32)
    tensor = from_triton("INT32", [1, 2], array.tobytes())
    assert tensor.dtype == 3 and tensor.tensor_content == array.tobytes()
    np.testing.assert_array_equal(to_numpy(tensor), array)


def test_unsupported_dtype_names_the_input_and_the_accepted_types() -> None:
    tensor = protos.TensorProto(dtype=8)  # DT_COMPLEX64
    with pytest.raises(TfsError) as caught:
        to_triton("z", tensor)
    assert "'z'" in caught.value.message and "DT_COMPLEX64" in caught.value.message
    assert "DT_FLOAT" in caught.value.message


def test_messages_have_the_wire_format_of_ovmsclients_tfs_protos() -> None:
    """Same field numbers as the real TFS protos: ovmsclient's generated classes read ours."""
    from ovmsclient.tfs_compat.protos.tensorflow_serving.apis import predict_pb2

    request = protos.PredictRequest()
    request.model_spec.name = "m"
    request.model_spec.version.value = 3
    request.output_filter.append("out")
    request.inputs["x"].CopyFrom(from_numpy(np.array([[1.5, 2.5]], np.float16), typed=True))
    theirs = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    assert theirs.model_spec.name == "m" and theirs.model_spec.version.value == 3
    assert list(theirs.output_filter) == ["out"]
    assert list(theirs.inputs["x"].half_val) == list(request.inputs["x"].half_val)
    assert [d.size for d in theirs.inputs["x"].tensor_shape.dim] == [1, 2]
    ours = protos.PredictRequest.FromString(theirs.SerializeToString())
    assert ours == request


def _filled(dtype: str, field: str, value: object, shape: list[int]) -> object:
    from ovtriton.tfs.tensors import DATA_TYPE

    tensor = protos.TensorProto(dtype=DATA_TYPE.values_by_name[dtype].number)
    tensor.tensor_shape.dim.extend(protos.TensorShapeProto.Dim(size=s) for s in shape)
    getattr(tensor, field).append(value)
    return tensor


def test_fills_are_weighed_before_allocation() -> None:
    from ovtriton.tfs.tensors import check_size, declared_bytes

    floats = _filled("DT_FLOAT", "float_val", 1.0, [1, 1 << 26])
    strings = _filled("DT_STRING", "string_val", b"ab", [16777216])
    assert len(floats.SerializeToString()) < 40 and len(strings.SerializeToString()) < 40
    assert declared_bytes("f", floats) == 4 << 26  # independent: 2^26 FP32 values
    assert declared_bytes("s", strings) == 16777216 * (4 + 2)
    for name, tensor in (("f", floats), ("s", strings)):
        with pytest.raises(TfsError) as refused:
            check_size({name: tensor}, 64 << 20)
        assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "MAX_INPUT_BYTES=67108864" in refused.value.message
    assert check_size({"f": _filled("DT_FLOAT", "float_val", 1.0, [2, 3])}, 24) == 24


def test_negative_dimensions_are_invalid_argument() -> None:
    tensor = from_numpy(np.zeros((2, 2), np.float32))
    tensor.tensor_shape.dim[0].size = -1
    tensor.tensor_shape.dim[1].size = -1
    for call in (lambda: to_triton("x", tensor), lambda: to_numpy(tensor, "x")):
        with pytest.raises(TfsError) as refused:
            call()
        assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "negative dimension" in refused.value.message
