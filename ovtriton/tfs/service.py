"""The TFS API's meaning on top of Triton: Predict, GetModelMetadata, GetModelStatus.

Transport-free: the gRPC servicer and the REST app both call these coroutines, which take and
return the TFS protobuf messages and raise :class:`TfsError` with the code OVMS would return.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import grpc

from ovtriton.tfs import protos
from ovtriton.tfs.admission import Busy, ByteBudget
from ovtriton.tfs.errors import TfsError, from_triton
from ovtriton.tfs.images import ImageDecoder
from ovtriton.tfs.model_info import ModelInfo, ModelInfoCache
from ovtriton.tfs.tensors import from_triton as tensor_from_triton
from ovtriton.tfs.passthrough import DEFAULT_MAX_INPUT_BYTES
from ovtriton.tfs.reloader import Reloader
from ovtriton.tfs.tensors import check_size, optional_version, tf_number, to_triton
from ovtriton.tfs.triton import Tensor, TritonLink, VersionState

SIGNATURE = "serving_default"
SIGNATURE_DEF_KEY = "signature_def"
# Triton's model states → TFS ModelVersionStatus.State.
_STATES = {
    "READY": protos.MODEL_STATES["AVAILABLE"],
    "LOADING": protos.MODEL_STATES["LOADING"],
    "UNLOADING": protos.MODEL_STATES["UNLOADING"],
    "UNAVAILABLE": protos.MODEL_STATES["END"],
    "END": protos.MODEL_STATES["END"],  # a model removed from serve's config
}
_OK, _UNKNOWN = 0, 2  # tensorflow.error.Code
_DT_STRING = 7


def _model_name(spec: Any) -> str:
    if not spec.name:
        raise TfsError(
            grpc.StatusCode.INVALID_ARGUMENT, "model_spec.name is empty; name the model to call"
        )
    return str(spec.name)


def _version_number(version: str) -> int:
    return int(version) if version.isdigit() else 0


class TfsService:
    """TensorFlow Serving's PredictionService and ModelService, answered by Triton."""

    def __init__(
        self,
        triton: TritonLink,
        reload: Optional[Reloader] = None,
        images: Optional[ImageDecoder] = None,
        budget: Optional[ByteBudget] = None,
        max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
    ) -> None:
        self.triton = triton
        self.reload = reload  # knows the models removed from serve's config (END in OVMS)
        # metadata, MAX_INPUT_BYTES (else ``max_input_bytes``) and scalars per model version
        self.models = ModelInfoCache(triton, max_input_bytes)
        self.images = images or ImageDecoder()
        self.budget = budget or ByteBudget()  # bytes in flight, shared with the other port
        if reload is not None:
            reload.on_change(self.models.drop)

    async def predict(self, request: Any, wire_bytes: Optional[int] = None) -> Any:
        """Answer one PredictRequest; ``wire_bytes`` is its size as received (else it is
        computed, which serialises the whole message again)."""
        model = _model_name(request.model_spec)
        version = optional_version(request.model_spec)
        if not request.inputs:
            raise TfsError(grpc.StatusCode.INVALID_ARGUMENT, "the request has no inputs")
        info = await self.models.get(model, version)
        declared = check_size(dict(request.inputs), info.limit)
        try:
            received = request.ByteSize() if wire_bytes is None else wire_bytes
            async with self.budget.hold(max(declared, received)):
                return await self._predict(info, model, version, request)
        except Busy as error:
            raise TfsError(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error), 429) from None

    async def _predict(
        self, info: ModelInfo, model: str, version: Optional[int], request: Any
    ) -> Any:
        inputs = await self._inputs(info, request)
        try:
            answered, outputs = await self.triton.infer(
                model, version, inputs, list(request.output_filter)
            )
        except grpc.RpcError as error:
            self.models.drop(model)  # the model may have changed under the cached metadata
            raise from_triton(error, model) from None
        response = protos.PredictResponse()
        response.model_spec.name = model
        response.model_spec.version.value = _version_number(answered)
        for out in outputs:
            shape = [] if out.name in info.scalars and out.shape == [1] else out.shape
            response.outputs[out.name].CopyFrom(tensor_from_triton(out.datatype, shape, out.raw))
        return response

    async def _inputs(self, info: ModelInfo, request: Any) -> list[Tensor]:
        """The request's tensors for Triton: strings for an image input are decoded images,
        a 0-d tensor for a model scalar is Triton's ``[1]`` (Triton 2.51 has no 0-d tensors)."""
        inputs = []
        for name, tensor in request.inputs.items():
            target = info.image_input(name) if tensor.dtype == _DT_STRING else None
            if target is not None:
                shape, raw = await self.images.decode(target, list(tensor.string_val))
                inputs.append(Tensor(name, target.datatype, shape, raw))
                continue
            datatype, shape, raw = to_triton(name, tensor)
            if not shape and name in info.scalars:
                shape = [1]
            inputs.append(Tensor(name, datatype, shape, raw))
        return inputs

    async def metadata(self, request: Any) -> Any:
        model = _model_name(request.model_spec)
        fields = list(request.metadata_field)
        if fields and SIGNATURE_DEF_KEY not in fields:
            raise TfsError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"metadata_field {fields} is not supported; ask for {SIGNATURE_DEF_KEY!r}",
            )
        version = optional_version(request.model_spec)
        info = await self.models.get(model, version)
        meta = info.metadata
        signature = protos.SignatureDef(method_name="")
        for tensors, target in ((meta.inputs, signature.inputs), (meta.outputs, signature.outputs)):
            for tensor in tensors:
                entry = target[tensor.name]
                entry.name = tensor.name
                entry.dtype = tf_number(tensor.datatype)
                entry.tensor_shape.SetInParent()
                if tensor.name not in info.scalars:  # a model scalar: shape [] as in OVMS
                    entry.tensor_shape.dim.extend(
                        protos.TensorShapeProto.Dim(size=int(s)) for s in tensor.shape
                    )
        signatures = protos.SignatureDefMap()
        signatures.signature_def[SIGNATURE].CopyFrom(signature)
        response = protos.GetModelMetadataResponse()
        response.model_spec.name = model
        response.model_spec.version.value = version or max(
            (_version_number(v) for v in meta.versions), default=1
        )
        response.metadata[SIGNATURE_DEF_KEY].Pack(signatures)
        return response

    async def status(self, request: Any) -> Any:
        model = _model_name(request.model_spec)
        version = optional_version(request.model_spec)
        rows = await self._versions(model)
        if not rows and self.reload is not None and self.reload.busy():
            # The repository is rewritten before Triton unloads: ask again once it settled.
            await asyncio.get_running_loop().run_in_executor(None, self.reload.wait_idle)
            rows = await self._versions(model)
        if not rows and self.reload is not None:  # removed from the config: END, as OVMS
            rows = [VersionState(model, str(v), "END", "") for v in self.reload.retired(model)]
        if not rows:
            raise TfsError(
                grpc.StatusCode.NOT_FOUND, f"Model with requested name is not found: {model!r}"
            )
        if version is not None:
            rows = [r for r in rows if _version_number(r.version) == version]
            if not rows:
                raise TfsError(
                    grpc.StatusCode.NOT_FOUND,
                    f"Model with requested version is not found: {model!r} version {version}",
                )
        response = protos.GetModelStatusResponse()
        for row in sorted(rows, key=lambda r: _version_number(r.version)):
            status = response.model_version_status.add(version=_version_number(row.version))
            state = _STATES.get(row.state, protos.MODEL_STATES["UNKNOWN"])
            failed = row.state == "UNAVAILABLE" and row.reason and row.reason != "unloaded"
            if failed:  # OVMS shows a version that failed to load as LOADING with the error
                status.state = protos.MODEL_STATES["LOADING"]
                status.status.error_code = _UNKNOWN
                status.status.error_message = f"Error occurred while loading version: {row.reason}"
            else:
                status.state = state
                status.status.error_code = _OK
                status.status.error_message = "OK"
        return response

    async def _versions(self, model: str) -> list[VersionState]:
        """The model's versions from Triton's repository index; ready versions if it is closed."""
        try:
            return [row for row in await self.triton.index() if row.name == model]
        except grpc.RpcError:
            pass  # the repository API may be restricted (an admin header): fall back on metadata
        try:
            meta = await self.triton.metadata(model, None)
        except grpc.RpcError as error:
            if from_triton(error, model).code == grpc.StatusCode.NOT_FOUND:
                return []
            raise from_triton(error, model) from None
        return [VersionState(model, v, "READY", "") for v in meta.versions]

    async def all_statuses(self) -> dict[str, Any]:
        """Every model's GetModelStatusResponse (OVMS's ``GET /v1/config``)."""
        try:
            names = {row.name for row in await self.triton.index()}
        except grpc.RpcError as error:
            raise TfsError(
                grpc.StatusCode.UNAVAILABLE,
                "the model list comes from Triton's repository index, which answered: "
                f"{error.details() if hasattr(error, 'details') else error}",
            ) from None
        if self.reload is not None:
            names.update(self.reload.retired_names())
        result = {}
        for name in sorted(names):
            request = protos.GetModelStatusRequest()
            request.model_spec.name = name
            result[name] = await self.status(request)
        return result
