"""The streaming scan of KServe JSON bodies: depth, declared bytes, data carried."""

from __future__ import annotations

import json

import pytest

from ovtriton.tfs.json_guard import BodyRefused, check_depth, check_infer

LIMIT = 1 << 20


def body(*inputs: dict) -> bytes:
    return json.dumps({"inputs": list(inputs)}).encode()


def test_the_106_byte_shape_bomb_is_refused() -> None:
    bomb = (
        b'{"inputs": [{"name": "INPUT/x:0", "shape": [1, 1099511627776], "datatype": "FP32",'
        b' "data": [1, 2, 3, 4]}]}'
    )
    with pytest.raises(BodyRefused) as refused:
        check_infer(bomb, 0)  # no size limit: the data carried still bounds it
    assert refused.value.status == 400
    assert (
        "1099511627776 elements" in refused.value.message and "carries 4" in refused.value.message
    )


def test_depth_50000_is_refused_at_the_limit() -> None:
    deep = b"[" * 50_000 + b"]" * 50_000
    with pytest.raises(BodyRefused, match="nests deeper than 64"):
        check_depth(deep)
    nested = {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [[[[1]]]]}]}
    check_infer(json.dumps(nested).encode(), LIMIT)  # a few levels are fine


def test_a_matching_request_passes() -> None:
    check_infer(
        body({"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2], [3, 4]]}), LIMIT
    )
    check_infer(body({"name": "s", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]}), LIMIT)


def test_declared_bytes_above_the_limit() -> None:
    values = [0] * 1000
    request = body({"name": "x", "shape": [1000], "datatype": "FP64", "data": values})
    check_infer(request, 8000)
    with pytest.raises(BodyRefused, match="declare 8000 bytes .* above the limit of 7999"):
        check_infer(request, 7999)


@pytest.mark.parametrize("shape", [[-1, 4], [1.5], ["4"], [[4]], 4, [True]])
def test_bad_dimensions(shape: object) -> None:
    with pytest.raises(BodyRefused) as refused:
        check_infer(body({"name": "x", "shape": shape, "datatype": "FP32", "data": [1]}), LIMIT)
    assert refused.value.status == 400 and "x" in refused.value.message


def test_binary_data_bounds_the_shape() -> None:
    header = body(
        {"name": "x", "shape": [4], "datatype": "FP32", "parameters": {"binary_data_size": 16}}
    )
    check_infer(header + bytes(16), LIMIT, header_length=len(header))
    big = body(
        {
            "name": "x",
            "shape": [1 << 30],
            "datatype": "FP32",
            "parameters": {"binary_data_size": 16},
        }
    )
    with pytest.raises(BodyRefused, match="declares 1073741824 elements"):
        check_infer(big + bytes(16), 0, header_length=len(big))
    with pytest.raises(BodyRefused, match="binary_data_size 16 is more than the 8"):
        check_infer(header + bytes(8), LIMIT, header_length=len(header))


def test_shared_memory_bounds_the_shape() -> None:
    params = {"shared_memory_region": "r", "shared_memory_byte_size": 16}
    check_infer(body({"name": "x", "shape": [4], "datatype": "FP32", "parameters": params}), LIMIT)
    with pytest.raises(BodyRefused, match="shared_memory_byte_size holds 4"):
        check_infer(
            body({"name": "x", "shape": [5], "datatype": "FP32", "parameters": params}), LIMIT
        )


def test_not_json() -> None:
    with pytest.raises(BodyRefused, match="not valid JSON"):
        check_infer(b'{"inputs": [', LIMIT)


def test_odd_layouts_do_not_break_the_scan() -> None:
    for odd in (b'{"inputs": {"item": {"data": 1}}}', b'{"inputs": [1, [2]]}', b"[]", b"3"):
        check_infer(odd, LIMIT)  # nothing declared: Triton answers these itself
