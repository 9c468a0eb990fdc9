"""KServe REST's binary extension read as OVMS reads it."""

from __future__ import annotations

import pytest

from ovtriton.tfs.errors import TfsError
from ovtriton.tfs.kserve_images import split_bytes
from ovtriton.tfs.kserve_rest import _binary_chunks, _blobs, _header_length
from ovtriton.tfs.tensors import serialize_bytes


def test_binary_parts_follow_the_inputs_order() -> None:
    inputs = [
        {"name": "a", "parameters": {"binary_data_size": 3}},
        {"name": "b", "data": [1, 2]},
        {"name": "c", "parameters": {"binary_data_size": 2}},
    ]
    assert _binary_chunks(inputs, b"aaacc") == [b"aaa", None, b"cc"]


def test_a_lone_input_without_size_takes_the_whole_binary_part() -> None:
    assert _binary_chunks([{"name": "image", "shape": [1]}], b"\xff\xd8jpeg") == [b"\xff\xd8jpeg"]


@pytest.mark.parametrize("size, message", [(-1, "invalid"), ("3", "invalid"), (9, "smaller")])
def test_bad_sizes_are_refused_with_ovms_text(size: object, message: str) -> None:
    with pytest.raises(TfsError, match=message):
        _binary_chunks([{"name": "a", "parameters": {"binary_data_size": size}}], b"abc")


def test_length_prefixed_images_and_a_raw_one() -> None:
    packed = serialize_bytes([b"one", b"three"])
    assert split_bytes(packed) == [b"one", b"three"]
    assert split_bytes(b"\xff\xd8\xff\xe0 a raw jpeg") is None
    assert split_bytes(packed[:-1]) is None and split_bytes(packed + b"\0") is None
    assert _blobs({"name": "i"}, b"\xff\xd8\xff\xe0 raw") == [b"\xff\xd8\xff\xe0 raw"]
    assert _blobs({"name": "i", "data": [["x"], [{"b64": "eQ=="}]]}, None) == [b"x", b"y"]


def test_header_length() -> None:
    assert _header_length({}, 10) == 10
    assert _header_length({"Inference-Header-Content-Length": "4"}, 10) == 4
    with pytest.raises(TfsError, match="exceeds"):
        _header_length({"Inference-Header-Content-Length": "11"}, 10)
