"""tritonclient over HTTP and gRPC behind one small interface for the tests."""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from ovtriton.server.process import TritonServer


class Client:
    """``timeout`` (seconds) bounds every request, so a hang fails a test instead of stalling it."""

    def __init__(
        self, server: TritonServer, protocol: str, timeout: Optional[float] = None
    ) -> None:
        self.protocol = protocol
        self.options: dict = {}
        if protocol == "http":
            self.module = httpclient
            extra = {"network_timeout": timeout} if timeout else {}
            self.raw = httpclient.InferenceServerClient(server.http_url, **extra)
        else:
            self.module = grpcclient
            self.raw = grpcclient.InferenceServerClient(server.grpc_url)
            self.options = {"client_timeout": timeout} if timeout else {}

    def infer(
        self, model: str, inputs: Mapping[str, np.ndarray], outputs: Optional[Sequence[str]] = None
    ) -> dict[str, np.ndarray]:
        wire = []
        for name, array in inputs.items():
            tensor = self.module.InferInput(
                name, list(array.shape), np_to_triton_dtype(array.dtype)
            )
            tensor.set_data_from_numpy(array)
            wire.append(tensor)
        requested = [self.module.InferRequestedOutput(n) for n in outputs] if outputs else None
        result = self.raw.infer(model, wire, outputs=requested, **self.options)
        response = result.get_response()
        names = (
            [o["name"] for o in response["outputs"]]
            if self.protocol == "http"
            else [o.name for o in response.outputs]
        )
        return {name: result.as_numpy(name) for name in names}

    def error(self, model: str, inputs: Mapping[str, np.ndarray]) -> InferenceServerException:
        try:
            self.infer(model, inputs)
        except InferenceServerException as exc:
            return exc
        raise AssertionError(f"request to {model} succeeded but should have failed")


def is_client_error(exc: InferenceServerException, protocol: str) -> bool:
    """HTTP 4xx / gRPC INVALID_ARGUMENT."""
    status = str(exc.status())
    return status.startswith("4") if protocol == "http" else "INVALID_ARGUMENT" in status
