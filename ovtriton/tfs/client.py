"""A small TFS-API gRPC client on the project's own TFS messages, and the seed's step-6 report.

For the demo and the benchmark: the calls OVMS's ``grpc_serving_client.py`` (Predict with
``tensor_content``) and ``get_serving_meta.py`` (GetModelMetadata of ``serving_default``)
make, without TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import grpc
import numpy as np

from ovtriton.errors import UserError
from ovtriton.tfs import protos
from ovtriton.tfs.tensors import DATA_TYPE, from_numpy, to_numpy
from ovtriton.tfs.triton import CHANNEL_OPTIONS

PREDICTION = "/tensorflow.serving.PredictionService/"


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a ``serving_default`` signature."""

    name: str
    shape: list[int]
    dtype: str  # DT_FLOAT, DT_INT32, ...


class TfsClient:
    """TFS Predict / GetModelMetadata / GetModelStatus over gRPC (raises ``grpc.RpcError``)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.channel = grpc.insecure_channel(url, options=CHANNEL_OPTIONS)
        self.timeout = timeout

    def _call(self, method: str, request: Any, response_type: Any) -> Any:
        rpc = self.channel.unary_unary(
            method,
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=response_type.FromString,
        )
        return rpc(request, timeout=self.timeout)

    def predict(
        self, model: str, inputs: Mapping[str, np.ndarray], version: int = 0
    ) -> dict[str, np.ndarray]:
        request = self.request(inputs)
        request.model_spec.version.value = version
        return self.send_raw(model, request)

    def request(
        self, inputs: Mapping[str, np.ndarray], outputs: Optional[Sequence[str]] = None
    ) -> Any:
        """A ``PredictRequest`` with ``inputs`` in ``tensor_content`` (the seed client's way)."""
        request = protos.PredictRequest()
        for name, array in inputs.items():
            request.inputs[name].CopyFrom(from_numpy(np.ascontiguousarray(array)))
        request.output_filter.extend(outputs or ())
        return request

    def send_raw(self, model: str, request: Any) -> dict[str, np.ndarray]:
        """Predict; the outputs by name. Raises ``grpc.RpcError``."""
        request.model_spec.name = model
        response = self._call(PREDICTION + "Predict", request, protos.PredictResponse)
        return {name: to_numpy(tensor, name) for name, tensor in response.outputs.items()}

    def send(self, model: str, request: Any) -> dict[str, np.ndarray]:
        """``send_raw`` for the seed's client loop: a failed call is a ``UserError``."""
        try:
            return self.send_raw(model, request)
        except grpc.RpcError as error:
            raise UserError(
                f"{model}: TFS Predict failed: {error.code().name} {error.details()}"
            ) from None

    def close(self) -> None:
        self.channel.close()

    def signature(self, model: str, version: int = 0) -> tuple[list[TensorSpec], list[TensorSpec]]:
        """The inputs and outputs of the model's ``serving_default`` signature."""
        request = protos.GetModelMetadataRequest()
        request.model_spec.name = model
        request.model_spec.version.value = version
        request.metadata_field.append("signature_def")
        response = self._call(
            PREDICTION + "GetModelMetadata", request, protos.GetModelMetadataResponse
        )
        signatures = protos.SignatureDefMap()
        response.metadata["signature_def"].Unpack(signatures)
        serving = signatures.signature_def["serving_default"]
        return _specs(serving.inputs), _specs(serving.outputs)

    def status(self, model: str, version: int = 0) -> dict[int, str]:
        request = protos.GetModelStatusRequest()
        request.model_spec.name = model
        request.model_spec.version.value = version
        response = self._call(
            "/tensorflow.serving.ModelService/GetModelStatus",
            request,
            protos.GetModelStatusResponse,
        )
        state = protos.ModelVersionStatus.DESCRIPTOR.enum_types_by_name["State"]
        return {
            s.version: state.values_by_number[s.state].name for s in response.model_version_status
        }


def _specs(tensors: Any) -> list[TensorSpec]:
    return [
        TensorSpec(
            name,
            [d.size for d in info.tensor_shape.dim],
            DATA_TYPE.values_by_number[info.dtype].name,
        )
        for name, info in tensors.items()
    ]


def metadata_lines(client: TfsClient, model: str) -> list[str]:
    """What the seed's ``get_serving_meta.py`` prints for ``model`` (step 6)."""
    inputs, outputs = client.signature(model)
    return [
        f"Getting model metadata for model: {model}",
        "Inputs metadata:",
        *(f"\tInput name: {t.name}; shape: {t.shape}; dtype: {t.dtype}" for t in inputs),
        "Outputs metadata:",
        *(f"\tOutput name: {t.name}; shape: {t.shape}; dtype: {t.dtype}" for t in outputs),
    ]
