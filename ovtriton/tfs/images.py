"""Binary image inputs as OVMS handles them: JPEG/PNG strings decoded for a 4-D NHWC input.

OVMS's documented rules: a ``DT_STRING`` input (one encoded image per element, shape ``[N]``)
sent to an input of 4 dims is decoded to **BGR**, NHWC, values 0–255 cast to the input's type
(no normalisation); a static H×W resizes every image to it, a dynamic one (-1) keeps the image
size. The front decodes them before Triton sees the request, so config.pbtxt keeps its type.
"""

from __future__ import annotations

import io
from typing import Any

import grpc
import numpy as np

from ovtriton.tfs.errors import TfsError
from ovtriton.tfs.tensors import BY_KSERVE

_BAD = grpc.StatusCode.INVALID_ARGUMENT


def wants_images(datatype: str, shape: list[int]) -> bool:
    """Whether strings sent to this model input are images to decode (OVMS: 4 dims, not BYTES)."""
    return datatype != "BYTES" and len(shape) == 4


def decode(
    name: str, blobs: list[bytes], datatype: str, shape: list[int]
) -> tuple[list[int], bytes]:
    """The NHWC shape and raw bytes of ``blobs`` decoded for the input ``name`` of ``shape``."""
    batch, height, width, channels = shape
    if channels not in (1, 3):
        raise TfsError(
            _BAD,
            f"input {name!r} has shape {shape}: binary images need an NHWC input with 1 or 3 "
            "channels last; serve the model with layout NHWC:NCHW (OVMS refuses NCHW too)",
        )
    if batch > 0 and batch != len(blobs):
        raise TfsError(
            _BAD, f"input {name!r} takes {batch} image(s) per request, the request has {len(blobs)}"
        )
    images = [_one(name, index, blob, channels, height, width) for index, blob in enumerate(blobs)]
    sizes = {image.shape for image in images}
    if len(sizes) > 1:
        raise TfsError(
            _BAD,
            f"input {name!r} has dynamic height/width and the images differ in size "
            f"({sorted(sizes)}); send images of one size",
        )
    array = np.stack(images).astype(BY_KSERVE[datatype].numpy)
    return list(array.shape), array.tobytes()


def _one(name: str, index: int, blob: bytes, channels: int, height: int, width: int) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(blob)) as opened:
            image = opened.convert("RGB" if channels == 3 else "L")
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise TfsError(
            _BAD, f"input {name!r}: image {index} cannot be decoded as JPEG or PNG ({error})"
        ) from None
    if height > 0 and width > 0 and image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    pixels = np.asarray(image)
    if channels == 3:
        return pixels[..., ::-1]  # RGB -> BGR, as OpenCV decodes in OVMS
    return pixels[..., np.newaxis]
