"""What the front needs to know of a model, asked of Triton once per model version and cached.

Requests with strings (binary images) and TFS REST bodies (JSON numbers take the model's
types) need the model's inputs; image inputs also need the model's byte limit, and TFS scalars
the tensors that are 0-d in the model (Triton 2.51 carries them as [1]). All come from Triton
(``ModelMetadata``, ``ModelConfig``'s ``MAX_INPUT_BYTES`` and ``SCALARS``) and are kept per
(model, version asked for) until the models change: a config reload, a repository call passed
through the front, or an error from Triton for that model drop them.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Optional

import grpc

from ovtriton.tfs.errors import from_triton
from ovtriton.tfs.images import DEFAULT_LIMIT, ImageInput, wants_images
from ovtriton.tfs.triton import TritonLink

LOGGER = logging.getLogger(__name__)
LIMIT_PARAMETER = "MAX_INPUT_BYTES"
SCALARS_PARAMETER = "SCALARS"  # tensors 0-d in the model, [1] in Triton (the converter's)


@dataclass(frozen=True)
class ModelInfo:
    """A model version's metadata (Triton's ModelMetadataResponse) and its input byte limit."""

    metadata: Any
    limit: int
    scalars: frozenset[str] = frozenset()

    @property
    def input_types(self) -> dict[str, str]:
        return {tensor.name: tensor.datatype for tensor in self.metadata.inputs}

    def image_input(self, name: str) -> Optional[ImageInput]:
        """The input ``name`` when it takes binary images, else None."""
        for tensor in self.metadata.inputs:
            shape = [int(s) for s in tensor.shape]
            if tensor.name == name and wants_images(tensor.datatype, shape):
                return ImageInput(name, tensor.datatype, shape, self.limit)
        return None


class ModelInfoCache:
    """:class:`ModelInfo` per (model, version), filled on first use, dropped on any change."""

    def __init__(self, triton: TritonLink, default_limit: int = DEFAULT_LIMIT) -> None:
        self.triton = triton
        self.default_limit = default_limit  # for models without MAX_INPUT_BYTES
        self._entries: dict[tuple[str, Optional[int]], ModelInfo] = {}
        self._lock = threading.Lock()  # drop() comes from the reload thread too

    async def get(self, model: str, version: Optional[int]) -> ModelInfo:
        """The model's info; a Triton error is raised as the TfsError OVMS would answer."""
        key = (model, version)
        info = self._entries.get(key)
        if info is not None:
            return info
        try:
            metadata = await self.triton.metadata(model, version)
        except grpc.RpcError as error:
            raise from_triton(error, model) from None
        try:
            config = await self.triton.config(model, version)
        except grpc.RpcError as error:  # e.g. model-config restricted: the defaults stand
            LOGGER.warning(
                "the config of model %s is not readable (%s): image inputs get the "
                "default limit, no tensor is a scalar",
                model,
                error.code() if hasattr(error, "code") else error,
            )
            info = ModelInfo(metadata, self.default_limit)
        else:
            info = ModelInfo(metadata, _limit(config, self.default_limit), _scalars(config))
        with self._lock:
            self._entries[key] = info
        return info

    def drop(self, model: Optional[str] = None) -> None:
        """Forget ``model`` (every model when None): it may have changed."""
        with self._lock:
            if model is None:
                self._entries.clear()
            else:
                for key in [k for k in self._entries if k[0] == model]:
                    del self._entries[key]


def _limit(config: Any, default: int) -> int:
    parameter = config.config.parameters.get(LIMIT_PARAMETER)
    if parameter is not None and parameter.string_value.isdigit():
        return int(parameter.string_value) or default
    return default


def _scalars(config: Any) -> frozenset[str]:
    parameter = config.config.parameters.get(SCALARS_PARAMETER)
    if parameter is None:
        return frozenset()
    try:
        names = json.loads(parameter.string_value)
    except ValueError:
        return frozenset()
    return frozenset(str(n) for n in names) if isinstance(names, list) else frozenset()
