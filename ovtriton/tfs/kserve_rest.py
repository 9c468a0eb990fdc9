"""KServe v2 REST on OVMS's REST port: binary images decoded before Triton sees the request.

OVMS takes a ``BYTES`` input for an image input (4-D, not ``BYTES``) on ``POST
/v2/models/{m}[/versions/{v}]/infer`` in two forms: JSON ``data`` (strings, or ``{"b64": …}``
values), or the binary extension (``Inference-Header-Content-Length`` and the input's
``binary_data_size`` parameter; tritonclient's length-prefixed layout, or one raw image when
the request has a single input of shape [1]). Triton would refuse the datatype, so the front
decodes the images (:mod:`ovtriton.tfs.images`) and sends Triton the model's tensor in binary
form; every other request goes through as it came.
"""

from __future__ import annotations

import base64
import json
import re
from typing import TYPE_CHECKING, Any, Mapping, Optional

import grpc

from ovtriton.tfs.errors import TfsError
from ovtriton.tfs.kserve_images import split_bytes

if TYPE_CHECKING:
    from ovtriton.tfs.service import TfsService

INFER = re.compile(r"^/v2/models/(?P<model>[^/]+)(?:/versions/(?P<version>[0-9]+))?/infer$")
HEADER_LENGTH = "Inference-Header-Content-Length"
_BAD = grpc.StatusCode.INVALID_ARGUMENT
_SIZE = "binary_data_size"
_TRITON_NOT_JSON = b"failed to parse the request JSON buffer"


def not_json(details: str) -> TfsError:
    """OVMS's answer to a body that is not JSON: 412 "The file is not valid json"."""
    return TfsError(grpc.StatusCode.FAILED_PRECONDITION, f"The file is not valid json - {details}")


def as_ovms_error(status: int, body: bytes) -> Optional[TfsError]:
    """The error OVMS answers instead of Triton's ``status``/``body``; None: Triton's stands.

    Triton answers a KServe REST body that is not JSON with 400 or 500 "failed to parse the
    request JSON buffer"; OVMS with 412 "The file is not valid json".
    """
    if status < 400 or _TRITON_NOT_JSON not in body:
        return None
    try:
        details = str(json.loads(body).get("error", ""))
    except (ValueError, AttributeError):
        details = body.decode("utf-8", "replace")
    return not_json(details)


async def decode_rest_images(
    path: str, headers: Mapping[str, str], body: bytes, service: "TfsService"
) -> Optional[tuple[bytes, dict[str, str]]]:
    """The body and headers to send Triton instead, or None when nothing is to be decoded."""
    match = INFER.match(path)
    if match is None or headers.get("Content-Encoding", "identity") != "identity":
        return None
    length = _header_length(headers, len(body))
    head, binary = body[:length], body[length:]
    if b"BYTES" not in head:
        return None
    try:
        request = json.loads(head)
    except ValueError as error:
        raise not_json(f"Error: {error}") from None
    inputs = request.get("inputs") if isinstance(request, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(t, dict) for t in inputs):
        return None  # Triton says what is wrong with it
    version = match["version"]
    info = await service.models.get(match["model"], int(version) if version else None)
    chunks = _binary_chunks(inputs, binary)
    changed = False
    for index, tensor in enumerate(inputs):
        target = info.image_input(str(tensor.get("name")))
        if tensor.get("datatype") != "BYTES" or target is None:
            continue
        blobs = _blobs(tensor, chunks[index])
        shape, raw = await service.images.decode(target, blobs)
        inputs[index] = {
            "name": target.name,
            "datatype": target.datatype,
            "shape": shape,
            "parameters": {**_parameters(tensor), _SIZE: len(raw)},
        }
        chunks[index] = raw
        changed = True
    if not changed:
        return None
    head = json.dumps(request).encode("utf-8")
    out = {HEADER_LENGTH: str(len(head))}
    return head + b"".join(c for c in chunks if c is not None), out


def _header_length(headers: Mapping[str, str], total: int) -> int:
    text = headers.get(HEADER_LENGTH)
    if text is None:
        return total
    if not text.strip().isdigit():
        raise TfsError(
            _BAD,
            "Inference-Header-Content-Length header is invalid and couldn't be parsed: "
            f"{text!r}; send the JSON part's length in bytes",
        )
    if int(text) > total:
        raise TfsError(
            _BAD,
            f"Inference-Header-Content-Length header exceeds actual payload length ({text} > "
            f"{total} bytes)",
        )
    return int(text)


def _parameters(tensor: dict[str, Any]) -> dict[str, Any]:
    parameters = tensor.get("parameters")
    return dict(parameters) if isinstance(parameters, dict) else {}


def _binary_chunks(inputs: list[dict[str, Any]], binary: bytes) -> list[Optional[bytes]]:
    """Each input's bytes in the binary section (None: its data is in the JSON)."""
    chunks: list[Optional[bytes]] = []
    offset = 0
    for tensor in inputs:
        size = _parameters(tensor).get(_SIZE)
        if size is None:
            chunks.append(None)
            continue
        if not isinstance(size, int) or size < 0:
            raise TfsError(
                _BAD,
                f"binary_data_size parameter is invalid and cannot be parsed: input "
                f"{tensor.get('name')!r} has {json.dumps(size)}; give the byte count of its data",
            )
        if offset + size > len(binary):
            raise TfsError(
                _BAD,
                "Received buffer size is smaller than binary_data_size parameter indicates: "
                f"input {tensor.get('name')!r} needs bytes {offset}..{offset + size}, the binary "
                f"part has {len(binary)}",
            )
        chunks.append(binary[offset : offset + size])
        offset += size
    if len(inputs) == 1 and chunks[0] is None and "data" not in inputs[0] and binary:
        chunks[0] = binary  # OVMS: a lone BYTES input of shape [1] takes the whole binary part
    return chunks


def _blobs(tensor: dict[str, Any], chunk: Optional[bytes]) -> list[bytes]:
    name = tensor.get("name")
    if chunk is not None:
        blobs = split_bytes(chunk)
        return blobs if blobs is not None else [chunk]
    data = tensor.get("data")
    if not isinstance(data, list):
        raise TfsError(
            _BAD,
            f"input {name!r}: BYTES data must be a list of strings or {{'b64': …}} values, or "
            "be sent in binary form (binary_data_size)",
        )
    return [_value(name, value) for value in _flat(data)]


def _flat(data: list[Any]) -> list[Any]:
    return [
        leaf for value in data for leaf in (_flat(value) if isinstance(value, list) else [value])
    ]


def _value(name: Any, value: Any) -> bytes:
    if isinstance(value, dict) and set(value) == {"b64"}:
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (ValueError, TypeError):
            raise TfsError(_BAD, f"Decode Base64 to string error: input {name!r}") from None
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TfsError(
        _BAD,
        f"input {name!r}: BYTES data holds a {type(value).__name__}; send strings or "
        "{'b64': …} values",
    )
