"""Weigh a KServe v2 JSON body before Triton parses it: nesting depth and declared tensor sizes.

tritonserver 2.51's HTTP/JSON path allocates each input's declared shape before checking it
(``"shape": [1, 1099511627776]`` in a 106-byte body aborts it with ``std::bad_alloc``) and
parses nesting recursively (100 KB of ``[[[[…`` segfaults it at depth ~50,000). This module
scans the body as a stream of JSON events (ijson, yajl's C parser: no tree is built, a deep
body is refused at the first bracket past the limit) and refuses, before anything is
forwarded:

- nesting deeper than ``max_depth``;
- an input whose shape has a negative or non-integer dimension;
- inputs that together declare more than ``max_input_bytes`` (shape product × element size);
- an input that declares more elements than its data carries: the JSON ``data`` values, the
  ``binary_data_size`` bytes of the binary extension (``Inference-Header-Content-Length``), or
  — with ``shared_memory_region`` — the region's ``shared_memory_byte_size``.

Triton then checks the rest (names, datatypes, shapes against the model) with allocations
bounded by the body's size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import ijson

MAX_DEPTH = 64
# Bytes per element of each KServe datatype; BYTES counts Triton's 4-byte length prefix.
ELEMENT_SIZE = {
    "BOOL": 1, "INT8": 1, "UINT8": 1, "INT16": 2, "UINT16": 2, "FP16": 2, "BF16": 2,
    "INT32": 4, "UINT32": 4, "FP32": 4, "INT64": 8, "UINT64": 8, "FP64": 8, "BYTES": 4,
}  # fmt: skip
_SCALARS = {"number", "string", "boolean", "null"}
_OPEN = {"start_map", "start_array"}
_CLOSE = {"end_map", "end_array"}
_DATA_PREFIX = "inputs.item.data"


class BodyRefused(Exception):
    """A body the guard refuses: the HTTP status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Input:
    index: int
    name: str = ""
    datatype: str = ""
    shape: list[Any] = field(default_factory=list)
    values: int = 0  # JSON data leaves
    binary_size: Optional[int] = None
    shm_region: Optional[str] = None
    shm_size: Optional[int] = None

    @property
    def where(self) -> str:
        return f"inputs[{self.index}]" + (f" ({self.name!r})" if self.name else "")


def check_depth(body: bytes, max_depth: int = MAX_DEPTH) -> None:
    """Refuse a JSON body nested deeper than ``max_depth`` (any endpoint that parses JSON)."""
    _scan(body, max_depth, collect=False)


def check_infer(
    body: bytes,
    max_input_bytes: int,
    header_length: Optional[int] = None,
    max_depth: int = MAX_DEPTH,
) -> None:
    """Refuse an inference body (``POST /v2/models/<m>[/versions/<v>]/infer``) as above.

    ``header_length``: the ``Inference-Header-Content-Length`` (the JSON part of a body that
    carries binary tensors after it); ``max_input_bytes`` 0 = no size limit.
    """
    json_part = body if header_length is None else body[:header_length]
    inputs = _scan(json_part, max_depth, collect=True)
    binary_bytes = len(body) - len(json_part)
    total = 0
    for item in inputs:
        declared = _elements(item)
        size = ELEMENT_SIZE.get(str(item.datatype).upper(), 1)
        total += declared * size
        _check_carried(item, declared, size, binary_bytes)
    if max_input_bytes and total > max_input_bytes:
        raise BodyRefused(
            400,
            f"the request's inputs declare {total} bytes (shape × element size), above the "
            f"limit of {max_input_bytes} bytes (the model's MAX_INPUT_BYTES or the front's "
            "default); send smaller requests",
        )


def _elements(item: _Input) -> int:
    if not isinstance(item.shape, list):
        raise BodyRefused(400, f"{item.where}: 'shape' must be a list of dimensions")
    for dim in item.shape:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 0:
            raise BodyRefused(
                400,
                f"{item.where}: shape {item.shape} has dimension {dim!r}; every dimension "
                "must be an integer of 0 or more",
            )
    return math.prod(item.shape)


def _check_carried(item: _Input, declared: int, size: int, binary_bytes: int) -> None:
    if item.shm_region is not None:
        carried, what = (item.shm_size or 0) // size, "its shared_memory_byte_size holds"
    elif item.binary_size is not None:
        if item.binary_size > binary_bytes:
            raise BodyRefused(
                400,
                f"{item.where}: binary_data_size {item.binary_size} is more than the "
                f"{binary_bytes} binary bytes the body carries",
            )
        carried, what = item.binary_size // size, "its binary_data_size holds"
    else:
        carried, what = item.values, "its 'data' carries"
    if declared > carried:
        raise BodyRefused(
            400,
            f"{item.where}: shape {item.shape} declares {declared} elements but {what} "
            f"{carried}; send a shape that matches the data",
        )


def _scan(body: bytes, max_depth: int, collect: bool) -> list[_Input]:
    inputs: list[_Input] = []
    depth = 0
    data = _DATA_PREFIX
    try:
        for prefix, event, value in ijson.parse(body, use_float=True):
            if event in _SCALARS:  # the hot path: the values of 'data'
                if (
                    collect
                    and inputs
                    and prefix.startswith(data)
                    and prefix[len(data) : len(data) + 1] in ("", ".")
                ):
                    inputs[-1].values += 1
                elif collect and prefix.startswith("inputs.item"):
                    _collect(inputs, prefix, event, value)
                continue
            if event in _OPEN:
                depth += 1
                if depth > max_depth:
                    raise BodyRefused(
                        400,
                        f"the JSON body nests deeper than {max_depth} levels (at {prefix or '$'}); "
                        "a request needs a few levels: flatten 'data'",
                    )
            elif event in _CLOSE:
                depth -= 1
            if collect and prefix.startswith("inputs.item"):
                _collect(inputs, prefix, event, value)
    except ijson.JSONError as error:
        raise BodyRefused(400, f"the body is not valid JSON: {error}") from None
    return inputs


def _collect(inputs: list[_Input], prefix: str, event: str, value: Any) -> None:
    if prefix == "inputs.item":
        if event == "start_map":
            inputs.append(_Input(len(inputs)))
        return
    item = inputs[-1] if inputs else None
    if item is None:
        return
    key = prefix[len("inputs.item.") :]
    if key == "name" and event == "string":
        item.name = value
    elif key == "datatype" and event == "string":
        item.datatype = value
    elif key == "shape" and event == "start_array":
        item.shape = []
    elif key == "shape" and event in _SCALARS:
        item.shape = value  # refused by _elements: not a list
    elif key == "shape.item" and event not in _OPEN and event not in _CLOSE:
        item.shape.append(value)
    elif key == "shape.item":
        item.shape.append(event)  # a nested list or map: refused by _elements
    elif key == "parameters.binary_data_size" and event == "number":
        item.binary_size = int(value)
    elif key == "parameters.shared_memory_region" and event == "string":
        item.shm_region = value
    elif key == "parameters.shared_memory_byte_size" and event == "number":
        item.shm_size = int(value)
