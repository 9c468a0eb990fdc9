"""TFS REST's JSON bodies ↔ TFS messages: the row (``instances``) and column (``inputs``) formats.

JSON numbers carry no type, so each input takes the datatype of the model's input (from
Triton's metadata), as OVMS does. ``{"b64": "..."}`` values are binary strings (BYTES).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import grpc
import numpy as np

from ovtriton.tfs import protos
from ovtriton.tfs.errors import TfsError
from ovtriton.tfs.tensors import BY_KSERVE, from_numpy, to_numpy

_BAD = grpc.StatusCode.INVALID_ARGUMENT


def predict_request(
    body: Any, model: str, version: int, input_types: dict[str, str]
) -> tuple[Any, bool]:
    """The PredictRequest of a REST predict body, and whether it used the row format."""
    if not isinstance(body, dict):
        raise TfsError(_BAD, "the request body must be a JSON object with 'instances' or 'inputs'")
    if ("instances" in body) == ("inputs" in body):
        raise TfsError(
            _BAD,
            "the request body must have exactly one of 'instances' (row format) "
            "or 'inputs' (column format)",
        )
    row = "instances" in body
    named = _rows(body["instances"], input_types) if row else _columns(body["inputs"], input_types)
    request = protos.PredictRequest()
    request.model_spec.name = model
    request.model_spec.version.value = version
    for name, value in named.items():
        request.inputs[name].CopyFrom(from_numpy(_array(name, value, input_types.get(name))))
    return request, row


def _single_input(input_types: dict[str, str], where: str) -> str:
    if len(input_types) != 1:
        raise TfsError(
            _BAD,
            f"{where}: the model has {len(input_types)} inputs ({', '.join(sorted(input_types))}); "
            "name each input in a JSON object",
        )
    return next(iter(input_types))


def _columns(inputs: Any, input_types: dict[str, str]) -> dict[str, Any]:
    if isinstance(inputs, dict) and not _is_b64(inputs):
        return inputs
    return {_single_input(input_types, "'inputs' holds a bare tensor"): inputs}


def _rows(instances: Any, input_types: dict[str, str]) -> dict[str, Any]:
    if not isinstance(instances, list) or not instances:
        raise TfsError(_BAD, "'instances' must be a non-empty list of rows")
    if all(isinstance(r, dict) and not _is_b64(r) for r in instances):
        names = set(instances[0])
        for index, instance in enumerate(instances):
            if set(instance) != names:
                raise TfsError(
                    _BAD,
                    f"instances[{index}] names inputs {sorted(instance)} but instances[0] names "
                    f"{sorted(names)}; every row must name the same inputs",
                )
        return {name: [r[name] for r in instances] for name in names}
    return {_single_input(input_types, "'instances' holds bare values"): instances}


def _is_b64(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"}


def _leaves_to_bytes(value: Any, name: str) -> Any:
    if isinstance(value, list):
        return [_leaves_to_bytes(v, name) for v in value]
    if _is_b64(value):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (ValueError, TypeError):
            raise TfsError(_BAD, f"input {name!r}: a 'b64' value is not valid base64") from None
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TfsError(
        _BAD,
        f"input {name!r}: expected strings or {{'b64': ...}} values, got "
        f"{json.dumps(value, default=str)[:80]}",
    )


def _has_b64_or_str(value: Any) -> bool:
    while isinstance(value, list) and value:
        value = value[0]
    return _is_b64(value) or isinstance(value, str)


def _array(name: str, value: Any, datatype: Any) -> np.ndarray:
    if datatype is None:
        raise TfsError(_BAD, f"input {name!r} is not an input of the model")
    try:
        if datatype == "BYTES" or _has_b64_or_str(value):
            leaves = _leaves_to_bytes(value, name)
            array = np.empty(np.shape(np.array(leaves, dtype=np.object_)), dtype=np.object_)
            array[...] = leaves if array.ndim else leaves
            return array
        return np.array(value, dtype=BY_KSERVE[datatype].numpy)
    except (ValueError, TypeError, KeyError) as error:
        raise TfsError(
            _BAD, f"input {name!r}: cannot read the JSON values as {datatype}: {error}"
        ) from None


def predict_response(response: Any, row: bool) -> dict[str, Any]:
    """The REST body of a PredictResponse: ``predictions`` for rows, ``outputs`` for columns."""
    outputs = {
        name: _json_values(to_numpy(t, name)) for name, t in sorted(response.outputs.items())
    }
    if not row:
        return {"outputs": next(iter(outputs.values())) if len(outputs) == 1 else outputs}
    if len(outputs) == 1:
        return {"predictions": next(iter(outputs.values()))}
    batch = min(len(v) if isinstance(v, list) else 1 for v in outputs.values())
    return {"predictions": [{name: v[i] for name, v in outputs.items()} for i in range(batch)]}


def _json_values(array: np.ndarray) -> Any:
    if array.dtype == np.object_:
        return np.vectorize(_json_string, otypes=[np.object_])(array).tolist() if array.size else []
    return array.tolist()


def _json_string(value: bytes) -> Any:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(value).decode("ascii")}
