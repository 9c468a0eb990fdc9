"""Binary image inputs decoded as OVMS decodes them (OpenCV), for a 4-D NHWC model input.

OVMS's steps (its tensor_conversion), followed one by one for the images of one input:

1. each string is decoded with ``cv::imdecode(…, IMREAD_UNCHANGED)``: BGR for colour, one
   channel for grey, four for a PNG with alpha; nothing is converted between them;
2. the image's channels must equal the input's C (C = -1: the first image's), else
   "Invalid number of channels in binary input";
3. when any dim of the input is -1, images are not resized: every image must have the first
   one's size ("…required to have the same resolution"), which sets a dynamic H/W;
4. the pixels are converted to the input's precision (``convertTo``: a cast, saturating for
   integers), THEN resized to a static H x W with ``cv::resize`` (bilinear, OpenCV's pixel
   centres) when the size differs; a size that differs where resizing is off is "Invalid
   input shape";
5. the images are stacked NHWC; the batch N must match a static N.

Before decoding, each PNG/JPEG header is read and an image whose pixels x channels x element
size (summed over the batch) exceed the model's limit (its ``MAX_INPUT_BYTES``, else 256 MiB)
is refused. Decoding runs in :class:`ImageDecoder`'s worker threads, off the event loop.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import grpc
import numpy as np

from ovtriton.tfs.errors import TfsError
from ovtriton.tfs.image_header import read_header
from ovtriton.tfs.tensors import BY_KSERVE

_BAD = grpc.StatusCode.INVALID_ARGUMENT
# The converter's DEFAULT_MAX_INPUT_BYTES (a unit test keeps them equal): the limit for a model
# whose config.pbtxt has no MAX_INPUT_BYTES (static shapes, pipelines).
DEFAULT_LIMIT = 256 << 20
# OpenCV's Mat depths OVMS converts to (tensor_conversion's precision table).
_CONVERTIBLE = {"FP32", "FP64", "FP16", "INT16", "UINT8", "INT8", "UINT16", "INT32"}


@dataclass(frozen=True)
class ImageInput:
    """A model input that takes images: its name, KServe datatype, shape and byte limit."""

    name: str
    datatype: str
    shape: Sequence[int]
    limit: int = DEFAULT_LIMIT


def wants_images(datatype: str, shape: Sequence[int]) -> bool:
    """Whether strings sent to this model input are images to decode (OVMS: 4 dims, not BYTES)."""
    return datatype != "BYTES" and len(shape) == 4


def decode(target: ImageInput, blobs: Sequence[bytes]) -> tuple[list[int], bytes]:
    """The NHWC shape and raw bytes of ``blobs`` decoded for ``target`` as OVMS does."""
    import cv2

    name, shape = target.name, list(target.shape)
    batch, height, width, channels = shape
    if target.datatype not in _CONVERTIBLE:
        raise TfsError(
            _BAD,
            f"Invalid input precision: input {name!r} is {target.datatype}; binary images "
            f"convert to {', '.join(sorted(_CONVERTIBLE))} only",
        )
    if not blobs or (batch > 0 and batch != len(blobs)):
        raise TfsError(
            _BAD,
            f"Invalid input batch size: input {name!r} takes {batch} image(s) per request, "
            f"the request has {len(blobs)}",
        )
    numpy_type = np.dtype(BY_KSERVE[target.datatype].numpy)
    _weigh(target, blobs, numpy_type.itemsize)
    resizable = all(dim >= 0 for dim in shape)
    images: list[np.ndarray] = []
    for index, blob in enumerate(blobs):
        image = _imdecode(cv2, name, index, blob)
        first = images[0] if images else None
        if first is not None and not resizable and first.shape[:2] != image.shape[:2]:
            raise TfsError(
                _BAD,
                "Binary input images for this endpoint are required to have the same "
                f"resolution: input {name!r} has a dynamic dim {shape}, so images are not "
                f"resized; image 0 is {_size(first)}, image {index} is {_size(image)}",
            )
        want = channels if channels > 0 else (_channels(first) if first is not None else -1)
        if want > 0 and _channels(image) != want:
            raise TfsError(
                _BAD,
                f"Invalid number of channels in binary input: input {name!r} (shape {shape}, "
                f"NHWC) takes {want} channel(s), image {index} has {_channels(image)} "
                "(grey 1, colour 3, with alpha 4; OVMS converts none into another)",
            )
        if index == 0:
            height = height if height > 0 else image.shape[0]
            width = width if width > 0 else image.shape[1]
        image = _convert(image, numpy_type)
        if image.shape[:2] != (height, width):
            if not resizable:
                raise TfsError(
                    _BAD,
                    f"Invalid input shape: input {name!r} has shape {shape}, image {index} is "
                    f"{_size(image)} and images are resized only for inputs with no -1 dim",
                )
            image = _resize(cv2, name, image, height, width)
        images.append(image if image.ndim == 3 else image[..., np.newaxis])
    array = np.stack(images)
    return list(array.shape), array.tobytes()


def _weigh(target: ImageInput, blobs: Sequence[bytes], item: int) -> None:
    """Refuse images whose decoded size (from their headers) exceeds the model's limit."""
    total = 0
    for index, blob in enumerate(blobs):
        if not blob:
            raise TfsError(_BAD, f"Bytes contents is empty: input {target.name!r}, image {index}")
        header = read_header(blob)
        if header is None:
            continue  # another format: OpenCV decodes it and caps it at 2^30 pixels
        total += header.width * header.height * header.channels * max(item, header.sample_bytes)
        if target.limit > 0 and total > target.limit:
            raise TfsError(
                _BAD,
                f"input {target.name!r}: image {index} is {header.width}x{header.height} with "
                f"{header.channels} channel(s); decoded as {target.datatype} the images take "
                f"{total} bytes, above this model's limit of {target.limit} bytes "
                "(MAX_INPUT_BYTES); send smaller images",
            )


def _imdecode(cv2: Any, name: str, index: int, blob: bytes) -> np.ndarray:
    try:
        image = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as error:
        image = None
        reason = str(error).strip().splitlines()[-1]
    else:
        reason = "not a format OpenCV decodes (JPEG, PNG, BMP, TIFF, WebP, …)"
    if image is None:
        raise TfsError(
            _BAD,
            f"Image parsing failed: input {name!r}, image {index} ({len(blob)} bytes): {reason}",
        )
    return np.asarray(image)


def _convert(image: np.ndarray, numpy_type: np.dtype) -> np.ndarray:
    """OpenCV's ``convertTo``: a cast for floats; rounded and saturated for integers."""
    if image.dtype == numpy_type:
        return image
    if numpy_type.kind == "f":
        return image.astype(numpy_type)
    info = np.iinfo(numpy_type)
    return np.clip(np.rint(image), info.min, info.max).astype(numpy_type)


def _resize(cv2: Any, name: str, image: np.ndarray, height: int, width: int) -> np.ndarray:
    try:
        return np.asarray(cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR))
    except cv2.error as error:
        raise TfsError(
            _BAD,
            f"input {name!r}: OpenCV cannot resize {image.dtype} images "
            f"({str(error).strip().splitlines()[-1]}); send images of {height}x{width}",
        ) from None


def _channels(image: np.ndarray) -> int:
    return 1 if image.ndim == 2 else int(image.shape[2])


def _size(image: np.ndarray) -> str:
    return f"{image.shape[0]}x{image.shape[1]} (HxW)"


class ImageDecoder:
    """Decodes images in a bounded pool of worker threads (OpenCV releases the GIL)."""

    def __init__(self, workers: Optional[int] = None) -> None:
        count = workers or min(4, os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="tfs-images")

    async def decode(self, target: ImageInput, blobs: Sequence[bytes]) -> tuple[list[int], bytes]:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, decode, target, list(blobs)
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
