"""The ``MAX_INPUT_BYTES`` the converter writes for a model whose input dims are dynamic.

Triton checks a request's shape against config.pbtxt's dims, so a model whose dims are all
fixed (the batch dimension bounded by ``max_batch_size``) cannot be sent more than its size. A
dimension of -1 lets a request through at any size, and the backend would hand OpenVINO
whatever came. For those models the converter writes a limit:

- the largest request the model's shape ranges allow (every input at its upper bounds, the
  batch dimension at ``max_batch_size``), when every dimension has an upper bound;
- else ``DEFAULT_MAX_INPUT_BYTES`` (256 MiB); requests that large cost a model instance ~3.6 GiB
  (docs/notes/safety.md, "Memory of a large tensor"), so the manifests convert with 64 MiB;
- ``ovtriton convert --max-input-bytes N`` (and ``serve --max-input-bytes``) writes N instead;
  0 writes no limit.

The limit counts all inputs of one request together, as the backend checks it. Pipeline
models (``--pipelines fused``, DAGs with custom nodes) get it too (:func:`limit_pipeline`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Optional

import openvino as ov

from . import pbtxt
from .repository import PlannedModel

DEFAULT_MAX_INPUT_BYTES = 256 << 20
PARAMETER = "MAX_INPUT_BYTES"


def has_dynamic_dims(model: ov.Model, max_batch_size: int) -> bool:
    """Whether an input dimension other than Triton's batch dimension is not fixed."""
    for port in model.inputs:
        pshape = port.get_partial_shape()
        if pshape.rank.is_dynamic:
            return True
        dims = list(pshape)[1:] if max_batch_size > 0 else list(pshape)
        if any(not dim.is_static for dim in dims):
            return True
    return False


def largest_request(model: ov.Model) -> Optional[int]:
    """Bytes of the largest request the inputs' shape ranges allow; None when one is unbounded.

    A prepared model's batch dimension is already ``1..max_batch_size``.
    """
    total = 0
    for port in model.inputs:
        pshape = port.get_partial_shape()
        size = port.get_element_type().size
        if pshape.rank.is_dynamic or port.get_element_type() == ov.Type.string or size <= 0:
            return None
        count = 1
        for dim in pshape:
            upper = dim.get_max_length()
            if upper < 0:
                return None
            count *= upper
        total += count * size
    return total


def max_input_bytes(model: ov.Model, max_batch_size: int, override: Optional[int]) -> int:
    """The limit to write for the prepared ``model``; 0 = write none."""
    if not has_dynamic_dims(model, max_batch_size):
        return 0
    if override is not None:
        return max(0, override)
    largest = largest_request(model)
    return largest or DEFAULT_MAX_INPUT_BYTES


def limit_pipeline(model: PlannedModel, override: Optional[int]) -> PlannedModel:
    """``model`` (a pipeline model: ``max_batch_size`` 0, every dim in its config) with
    ``MAX_INPUT_BYTES`` when an input dim is dynamic: ``override``, else the default (a
    pipeline's node ranges do not bound its inputs here); unchanged when all dims are fixed,
    when ``override`` is 0 or when the config already sets it."""
    config = pbtxt.from_text(model.config_text)
    dynamic = any(d < 0 for tensor in config.input for d in tensor.dims)
    if not dynamic or override == 0 or PARAMETER in config.parameters:
        return model
    limit = DEFAULT_MAX_INPUT_BYTES if override is None else override
    config.parameters[PARAMETER].string_value = str(limit)
    return replace(model, config_text=pbtxt.to_text(config))
