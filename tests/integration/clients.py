"""The product's client adapter (``ovtriton.client``) bound to a test's server, plus two checks."""

from __future__ import annotations

from typing import Mapping, Optional

import numpy as np
from tritonclient.utils import InferenceServerException

from ovtriton.client import Client as _Client
from ovtriton.client import server_url
from ovtriton.server.process import TritonServer


class Client(_Client):
    """``timeout`` (seconds) bounds every request, so a hang fails a test instead of stalling it."""

    def __init__(
        self, server: TritonServer, protocol: str, timeout: Optional[float] = None
    ) -> None:
        super().__init__(server_url(server, protocol), protocol, timeout)

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
