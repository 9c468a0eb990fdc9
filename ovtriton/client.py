"""tritonclient over gRPC or HTTP behind one small interface: the one protocol switch.

The seed's client (``ovtriton infer``/``metadata``, the demo), the soak, the bench and the
integration tests all talk to Triton through ``Client``. ``timeout`` (seconds) bounds every
request, so a hung server fails a request instead of stalling its caller.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Protocol, Sequence

import numpy as np

from ovtriton.errors import UserError

PROTOCOLS = ("grpc", "http")


@dataclass(frozen=True)
class TensorMetadata:
    name: str
    datatype: str  # Triton's spelling: FP32, INT64, ...
    shape: tuple[int, ...]  # -1 = variable


@dataclass(frozen=True)
class Metadata:
    """A served model's or ensemble's ``v2/models/<name>`` metadata."""

    name: str
    versions: tuple[str, ...]
    platform: str
    inputs: tuple[TensorMetadata, ...]
    outputs: tuple[TensorMetadata, ...]

    def lines(self) -> list[str]:
        """As the seed's client prints it."""
        return [
            f"Getting model metadata for model: {self.name}",
            "Inputs metadata:",
            *(
                f"\tInput name: {t.name}; shape: {list(t.shape)}; dtype: {t.datatype}"
                for t in self.inputs
            ),
            "Outputs metadata:",
            *(
                f"\tOutput name: {t.name}; shape: {list(t.shape)}; dtype: {t.datatype}"
                for t in self.outputs
            ),
        ]


@dataclass(frozen=True)
class Request:
    """Tensors already in the client's wire objects: sending it is all a timed call measures."""

    inputs: list
    outputs: Optional[list]


class Connection(Protocol):
    """What the seed's client loop needs: build a request ahead, then send it (timed).

    ``Client`` (KServe over tritonclient) and ``ovtriton.tfs.client.TfsClient`` (TFS API).
    """

    def request(
        self, inputs: Mapping[str, np.ndarray], outputs: Optional[Sequence[str]] = None
    ) -> Any: ...

    def send(self, model: str, request: Any) -> dict[str, np.ndarray]: ...


def server_url(server: Any, protocol: str) -> str:
    """The address of a running server (anything with ``grpc_url`` and ``http_url``) for ``protocol``."""
    return str(server.http_url if protocol == "http" else server.grpc_url)


class Client:
    """One connection to Triton over ``protocol`` (``grpc`` or ``http``) at ``url``."""

    def __init__(self, url: str, protocol: str = "grpc", timeout: Optional[float] = None) -> None:
        if protocol not in PROTOCOLS:
            raise UserError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
        self.protocol = protocol
        self.module: Any = importlib.import_module(f"tritonclient.{protocol}")  # only when used
        self.options: dict[str, Any] = {}
        if protocol == "http":
            extra = {"network_timeout": timeout} if timeout else {}
            self.raw: Any = self.module.InferenceServerClient(url, **extra)
        else:
            self.raw = self.module.InferenceServerClient(url)
            self.options = {"client_timeout": timeout} if timeout else {}

    def request(
        self, inputs: Mapping[str, np.ndarray], outputs: Optional[Sequence[str]] = None
    ) -> Request:
        """``inputs`` by name as wire tensors; ``outputs`` None = every output of the model."""
        wire = []
        for name, array in inputs.items():
            array = np.ascontiguousarray(array)
            wire_type = self.module.np_to_triton_dtype(array.dtype)
            tensor = self.module.InferInput(name, list(array.shape), wire_type)
            tensor.set_data_from_numpy(array)
            wire.append(tensor)
        requested = [self.module.InferRequestedOutput(n) for n in outputs] if outputs else None
        return Request(wire, requested)

    def send(self, model: str, request: Request) -> dict[str, np.ndarray]:
        """Infer; the outputs by name. Raises tritonclient's ``InferenceServerException``."""
        result = self.raw.infer(model, request.inputs, outputs=request.outputs, **self.options)
        response = result.get_response()
        names = (
            [o["name"] for o in response["outputs"]]
            if self.protocol == "http"
            else [o.name for o in response.outputs]
        )
        return {name: result.as_numpy(name) for name in names}

    def infer(
        self, model: str, inputs: Mapping[str, np.ndarray], outputs: Optional[Sequence[str]] = None
    ) -> dict[str, np.ndarray]:
        return self.send(model, self.request(inputs, outputs))

    def metadata(self, model: str) -> Metadata:
        """Raises tritonclient's ``InferenceServerException`` for an unknown model."""
        if self.protocol == "grpc":
            raw = self.raw.get_model_metadata(model, as_json=True, **self.options)
        else:
            raw = self.raw.get_model_metadata(model)
        return Metadata(
            name=raw["name"],
            versions=tuple(raw.get("versions", ())),
            platform=raw.get("platform", ""),
            inputs=_tensors(raw.get("inputs", ())),
            outputs=_tensors(raw.get("outputs", ())),
        )

    def close(self) -> None:
        self.raw.close()


def _tensors(items: Sequence[dict]) -> tuple[TensorMetadata, ...]:
    # gRPC's JSON spells int64 dims as strings.
    return tuple(
        TensorMetadata(t["name"], t["datatype"], tuple(int(d) for d in t.get("shape", ())))
        for t in items
    )
