"""The client adapter without a server: protocol check and the wire tensors it builds."""

from __future__ import annotations

import numpy as np
import pytest

from ovtriton.client import PROTOCOLS, Client
from ovtriton.errors import UserError


def test_an_unknown_protocol_is_a_user_error_naming_the_known_ones() -> None:
    with pytest.raises(UserError, match="unknown protocol 'rest'; use one of grpc, http"):
        Client("127.0.0.1:1", "rest")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_request_carries_each_tensors_name_shape_and_triton_type(protocol: str) -> None:
    client = Client("127.0.0.1:1", protocol, timeout=2.0)
    request = client.request(
        {"image": np.zeros((2, 3), np.float32), "ids": np.arange(4, dtype=np.int64)[::2]},
        ["label"],
    )
    assert [(t.name(), t.shape(), t.datatype()) for t in request.inputs] == [
        ("image", [2, 3], "FP32"),
        ("ids", [2], "INT64"),
    ]
    assert request.outputs is not None and [o.name() for o in request.outputs] == ["label"]
    assert client.request({"x": np.zeros(1, np.float32)}).outputs is None  # every output
    client.close()
