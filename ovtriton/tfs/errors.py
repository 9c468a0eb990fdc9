"""Errors of the TFS front: gRPC status codes as OVMS returns them, and their REST statuses."""

from __future__ import annotations

import grpc

# The REST statuses OVMS answers for each code (ovmsclient maps 404 → ModelNotFoundError,
# 400 → InvalidInputError, 503 → ConnectionError, other → ModelServerError).
HTTP_STATUS = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 412,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 413,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.CANCELLED: 499,
}


class TfsError(Exception):
    """A request the front answers with an error: the gRPC code and a message for the client."""

    def __init__(self, code: grpc.StatusCode, message: str, http_status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self._http_status = http_status  # when it differs from the code's (429: busy)

    @property
    def http_status(self) -> int:
        return self._http_status or HTTP_STATUS.get(self.code, 500)


def from_triton(error: grpc.RpcError, model: str) -> TfsError:
    """Map an error of Triton's gRPC API onto the code OVMS returns for the same problem."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = (error.details() if hasattr(error, "details") else None) or str(error)
    if code == grpc.StatusCode.NOT_FOUND or (
        code == grpc.StatusCode.UNAVAILABLE and _is_missing(details)
    ):
        what = "version" if "version" in details.lower() else "name"
        return TfsError(
            grpc.StatusCode.NOT_FOUND,
            f"Model with requested {what} is not found: {model!r} ({details})",
        )
    if code == grpc.StatusCode.UNAVAILABLE:
        return TfsError(code, f"the Triton server behind the TFS front is unavailable: {details}")
    return TfsError(code, details)


def _is_missing(details: str) -> bool:
    text = details.lower()
    return "not found" in text or "unknown model" in text or "no available version" in text
