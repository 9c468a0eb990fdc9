"""Triton's gRPC errors mapped onto the codes and REST statuses OVMS answers."""

from __future__ import annotations

import grpc
import pytest
from grpc.aio import AioRpcError, Metadata

from ovtriton.tfs.errors import from_triton


def triton_error(code: grpc.StatusCode, details: str) -> AioRpcError:
    return AioRpcError(code, Metadata(), Metadata(), details)


@pytest.mark.parametrize(
    "code, details, expected, status, message",
    [
        (grpc.StatusCode.NOT_FOUND, "Request for unknown model: 'm' is not found",
         grpc.StatusCode.NOT_FOUND, 404, "Model with requested name is not found: 'm'"),
        (grpc.StatusCode.UNAVAILABLE, "Request for unknown model: 'm' version 7 is not found",
         grpc.StatusCode.NOT_FOUND, 404, "Model with requested version is not found: 'm'"),
        (grpc.StatusCode.INVALID_ARGUMENT, "unexpected inference input 'x' for model 'm'",
         grpc.StatusCode.INVALID_ARGUMENT, 400, "unexpected inference input 'x'"),
        (grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses",
         grpc.StatusCode.UNAVAILABLE, 503, "the Triton server behind the TFS front is unavailable"),
        (grpc.StatusCode.INTERNAL, "backend crashed", grpc.StatusCode.INTERNAL, 500, "backend crashed"),
    ],
)  # fmt: skip
def test_triton_errors_get_ovms_codes_and_statuses(
    code: grpc.StatusCode, details: str, expected: grpc.StatusCode, status: int, message: str
) -> None:
    error = from_triton(triton_error(code, details), "m")
    assert (error.code, error.http_status) == (expected, status)
    assert message in error.message
