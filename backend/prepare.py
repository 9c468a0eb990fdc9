"""Read a model and shape it into what Triton serves: names, shapes, layout, batch dimension.

The converter calls the same functions (and ``tensors.describe``) to write config.pbtxt, so the
inputs and outputs it declares are exactly those the backend serves.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Mapping

import numpy as np
import openvino as ov
from openvino import opset13 as ops
from openvino.preprocess import PrePostProcessor

from .dims import Dim, layout_sides
from .errors import ModelLoadError, first_line
from .settings import BackendSettings

LOGGER = logging.getLogger(__name__)
SCALARS_INFO = "ovtriton_scalars"  # rt_info key: the tensors carry_scalars made [1]


def read_model(core: ov.Core, path: Path) -> ov.Model:
    try:
        return core.read_model(str(path))
    except Exception as exc:  # OpenVINO raises RuntimeError subclasses with long texts
        raise ModelLoadError(f"cannot read model file {path}: {first_line(exc)}") from None


def prepare_model(
    model: ov.Model,
    settings: BackendSettings,
    max_batch_size: int,
    mapping: tuple[Mapping[str, str], Mapping[str, str]] = ({}, {}),
) -> ov.Model:
    """Apply, in OVMS's order: mapping renames, LAYOUT, RESHAPE, then Triton's batch dimension.

    OVMS builds the layout's pre/post-processing first and reshapes the result, so RESHAPE's
    shapes are read in the *request's* layout: ``{"image": [1, 224, 224, 3]}`` with LAYOUT
    ``NHWC:NCHW`` takes NHWC requests of that shape.
    """
    _rename(model.inputs, mapping[0], "input")
    _rename(model.outputs, mapping[1], "output")
    names = {port.get_any_name() for port in model.inputs}
    if settings.layout:
        model = _apply_layout(model, settings.layout)
    if settings.reshape:
        unknown = sorted(set(settings.reshape) - names)
        if unknown:
            raise ModelLoadError(
                f"parameter RESHAPE names input(s) {unknown} the model does not have; "
                f"its inputs are {sorted(names)}"
            )
        shapes = {k: _partial_shape(v) for k, v in settings.reshape.items()}
        _reshape(model, shapes, "parameter RESHAPE")
    if max_batch_size > 0:
        _make_batch_dynamic(model, max_batch_size, settings.layout)
    return carry_scalars(model)


def carry_scalars(model: ov.Model) -> ov.Model:
    """Every 0-d input and output becomes a 1-element vector ``[1]`` around the model.

    Triton 2.51 has no 0-d tensors (a non-batching model's tensor must have ``dims``, and an
    empty ``reshape`` is refused), so ``[1]`` is what it carries; the model still computes on
    its scalar (a Squeeze after the new input, an Unsqueeze before each output). The names of
    the carried tensors are kept in the model's rt_info under ``SCALARS_INFO`` (the converter
    writes them into config.pbtxt's ``SCALARS``, so the TFS front answers them as scalars).
    """
    axis = ops.constant(np.array([0], dtype=np.int64))
    carried_names: list[str] = []
    params = []
    for param in model.get_parameters():
        if not _is_scalar(param.get_output_partial_shape(0)):
            params.append(param)
            continue
        vector = ops.parameter([1], param.get_element_type(), name=param.get_friendly_name())
        scalar = ops.squeeze(vector, axis)
        for target in param.output(0).get_target_inputs():
            target.replace_source_output(scalar.output(0))
        _move_names(param.output(0), vector.output(0))
        params.append(vector)
        carried_names.append(vector.output(0).get_any_name())
    for result in model.get_results():
        source = result.input_value(0)
        if _is_scalar(source.get_partial_shape()):
            vector = ops.unsqueeze(source, axis)
            _move_names(source, vector.output(0))
            result.input(0).replace_source_output(vector.output(0))
            carried_names.append(vector.output(0).get_any_name())
    if not carried_names:
        return model
    carried = ov.Model(model.get_results(), params, model.get_friendly_name())
    carried.validate_nodes_and_infer_types()
    carried.set_rt_info(json.dumps(carried_names), SCALARS_INFO)
    return carried


def carried_scalars(model: ov.Model) -> list[str]:
    """The tensors :func:`carry_scalars` turned from 0-d into ``[1]`` (empty: none)."""
    if not model.has_rt_info(SCALARS_INFO):
        return []
    return list(json.loads(model.get_rt_info(SCALARS_INFO).astype(str)))


def _is_scalar(pshape: ov.PartialShape) -> bool:
    return pshape.rank.is_static and pshape.rank.get_length() == 0


def _move_names(old: ov.Output, new: ov.Output) -> None:
    names = old.get_names()
    old.get_tensor().set_names(set())
    new.get_tensor().set_names(names)


def _rename(ports: list[ov.Output], mapping: Mapping[str, str], kind: str) -> None:
    if not mapping:
        return
    seen: set[str] = set()
    for port in ports:
        for name in port.get_names():
            if name in mapping:
                port.get_tensor().set_names({mapping[name]})
                seen.add(name)
                break
    missing = sorted(set(mapping) - seen)
    if missing:
        raise ModelLoadError(
            f"mapping_config.json renames {kind}(s) {missing} the model does not have"
        )


def _partial_shape(dims: list[Dim]) -> ov.PartialShape:
    out = []
    for dim in dims:
        if isinstance(dim, str):
            low, high = dim.split(":")
            out.append(ov.Dimension(int(low), int(high)))
        else:
            out.append(ov.Dimension(dim))
    return ov.PartialShape(out)


def _reshape(model: ov.Model, shapes: dict[str, ov.PartialShape], what: str) -> None:
    try:
        model.reshape(shapes)
    except Exception as exc:
        wanted = ", ".join(f"{k}: {v}" for k, v in shapes.items())
        raise ModelLoadError(
            f"{what}: the model cannot take shapes {{{wanted}}}: {first_line(exc)}"
        ) from None


def _apply_layout(model: ov.Model, layouts: Mapping[str, str]) -> ov.Model:
    inputs = {p.get_any_name() for p in model.inputs}
    outputs = {p.get_any_name() for p in model.outputs}
    ppp = PrePostProcessor(model)
    for name, spec in layouts.items():
        request_side, model_side = layout_sides(spec.upper())
        try:
            if name in inputs:
                ppp.input(name).tensor().set_layout(ov.Layout(request_side))
                ppp.input(name).model().set_layout(ov.Layout(model_side))
            elif name in outputs:
                ppp.output(name).model().set_layout(ov.Layout(model_side))
                ppp.output(name).tensor().set_layout(ov.Layout(request_side))
            else:
                raise ModelLoadError(
                    f"parameter LAYOUT names tensor {name!r} the model does not have; its inputs "
                    f"are {sorted(inputs)} and outputs {sorted(outputs)}"
                )
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(f"parameter LAYOUT: entry {name!r}: {spec!r}: {exc}") from None
    try:
        return ppp.build()
    except Exception as exc:
        raise ModelLoadError(
            f"parameter LAYOUT {dict(layouts)} does not fit the model: {first_line(exc)}"
        ) from None


def _make_batch_dynamic(model: ov.Model, max_batch_size: int, layouts: Mapping[str, str]) -> None:
    """Dimension 0 of every input becomes 1..max_batch_size so batched requests can be joined."""
    for name, spec in layouts.items():
        request_side = layout_sides(spec.upper())[0]
        if "N" in request_side and not request_side.startswith("N"):
            raise ModelLoadError(
                f"parameter LAYOUT: {name!r} is {spec!r}, but with max_batch_size > 0 Triton "
                f"batches along the first dimension; put N first or set max_batch_size: 0"
            )
    shapes = {}
    for port in model.inputs:
        pshape = port.get_partial_shape()
        if pshape.rank.is_dynamic or len(pshape) == 0:
            raise ModelLoadError(
                f"input {port.get_any_name()!r} has no batch dimension (shape {pshape}) but "
                f"max_batch_size is {max_batch_size}; set max_batch_size: 0"
            )
        pshape[0] = ov.Dimension(1, max_batch_size)
        shapes[port.get_any_name()] = pshape
    _reshape(model, shapes, f"max_batch_size {max_batch_size}")
