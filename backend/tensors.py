"""A tensor as Triton sees it (``TensorSpec``), read from OpenVINO ports and written as config.

``config_entry`` gives the tensor in the JSON form of Triton's model config, the form both
``auto_complete_config`` (``pb_utils`` ``add_input``) and the converter (``json_format``) take,
so every config.pbtxt tensor is spelt by this one function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import openvino as ov

from . import dtypes
from .errors import ModelLoadError


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: its name, Triton data type and full shape (-1 where dynamic)."""

    name: str
    datatype: str  # Triton's config spelling, "TYPE_FP32"
    shape: tuple[int, ...]

    def config_entry(self, batched: bool = False) -> dict[str, Any]:
        """``{"name", "data_type", "dims"}``; ``batched`` drops the batch dimension (dim 0).

        Triton 2.51 refuses tensors without ``dims``: a batched vector (``[batch]``) becomes
        ``dims: [1]`` with ``reshape: {shape: []}`` (requests ``[batch, 1]``, the model gets
        ``[batch]``). A non-batching model cannot have an empty reshape, so a scalar is ``[1]``
        (the backend's ``prepare.carry_scalars`` gives the model its scalar).
        """
        dims = list(self.shape[1:] if batched else self.shape)
        entry: dict[str, Any] = {"name": self.name, "data_type": self.datatype, "dims": dims or [1]}
        if batched and not dims:
            entry["reshape"] = {"shape": []}
        return entry


def describe(ports: list[ov.Output]) -> list[TensorSpec]:
    """The ``TensorSpec`` of each port of a (prepared) model, in the model's order."""
    specs = []
    for port in ports:
        name = port.get_any_name() if port.get_names() else ""
        if not name:
            raise ModelLoadError(f"tensor #{port.get_index()} of the model has no name")
        try:
            datatype = dtypes.triton_from_ov(port.get_element_type())
        except KeyError:
            raise ModelLoadError(
                f"tensor {name!r} has element type {port.get_element_type().get_type_name()}, "
                f"which the openvino_py backend does not carry (supported: "
                f"{', '.join(dtypes.SUPPORTED)})"
            ) from None
        pshape = port.get_partial_shape()
        if pshape.rank.is_dynamic:
            raise ModelLoadError(
                f"tensor {name!r} has a dynamic rank; set its shape with parameter RESHAPE"
            )
        shape = tuple(d.get_length() if d.is_static else -1 for d in pshape)
        specs.append(TensorSpec(name, datatype, shape))
    return specs
