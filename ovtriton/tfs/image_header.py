"""Width, height and channels of a PNG or JPEG read from its header, before anything is decoded.

OpenCV has no header-only call, and a 20000 x 20000 PNG of a few kilobytes decodes to over a
gigabyte. The front weighs each image with this reader first and refuses one that would not
fit the model's limit. Other formats (BMP, TIFF, WebP, …) have no reader here: they are weighed
after decoding (OpenCV itself refuses more than 2^30 pixels).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour type -> channels OpenCV decodes with IMREAD_UNCHANGED (a palette becomes BGR).
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}
# JPEG start-of-frame markers (SOF0..SOF15 less DHT 0xC4, JPG 0xC8, DAC 0xCC).
_SOF = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE = set(range(0xD0, 0xDA)) | {0x01}  # RSTn, SOI, EOI, TEM: no length field


@dataclass(frozen=True)
class ImageHeader:
    """What an image decodes to: ``width`` x ``height`` pixels of ``channels`` samples."""

    width: int
    height: int
    channels: int
    sample_bytes: int  # 1 for 8-bit samples, 2 for 16-bit PNG

    @property
    def decoded_bytes(self) -> int:
        return self.width * self.height * self.channels * self.sample_bytes


def read_header(blob: bytes) -> Optional[ImageHeader]:
    """The header of a PNG or JPEG ``blob``; None for another format or a broken header."""
    if blob.startswith(_PNG_SIGNATURE):
        return _png(blob)
    if blob.startswith(b"\xff\xd8"):
        return _jpeg(blob)
    return None


def _png(blob: bytes) -> Optional[ImageHeader]:
    # Signature, then the IHDR chunk: length, b"IHDR", width, height, bit depth, colour type.
    if len(blob) < 26 or blob[12:16] != b"IHDR":
        return None
    width, height, depth, colour = struct.unpack(">IIBB", blob[16:26])
    channels = _PNG_CHANNELS.get(colour)
    if channels is None:
        return None
    return ImageHeader(width, height, channels, 2 if depth == 16 else 1)


def _jpeg(blob: bytes) -> Optional[ImageHeader]:
    offset = 2
    while offset + 4 <= len(blob):
        if blob[offset] != 0xFF:
            return None
        marker = blob[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in _STANDALONE:
            offset += 2
            continue
        (length,) = struct.unpack(">H", blob[offset + 2 : offset + 4])
        if marker in _SOF:
            if offset + 10 > len(blob):
                return None
            precision, height, width, components = struct.unpack(
                ">BHHB", blob[offset + 4 : offset + 10]
            )
            # IMREAD_UNCHANGED: 1 component stays grey, 3 (YCbCr) and 4 (CMYK) become BGR.
            return ImageHeader(
                width, height, 1 if components == 1 else 3, 2 if precision > 8 else 1
            )
        offset += 2 + length
    return None
