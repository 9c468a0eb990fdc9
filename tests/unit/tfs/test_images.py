"""Image headers, the decode rules' errors, and the per-version model info cache."""

from __future__ import annotations

import asyncio
import struct
import zlib
from types import SimpleNamespace
from typing import Any, Optional

import cv2
import numpy as np
import pytest

from ovtriton.converter.input_limit import DEFAULT_MAX_INPUT_BYTES
from ovtriton.tfs.errors import TfsError
from ovtriton.tfs.image_header import ImageHeader, read_header
from ovtriton.tfs.images import DEFAULT_LIMIT, ImageInput, decode
from ovtriton.tfs.model_info import ModelInfoCache


def encoded(shape: tuple[int, ...], ext: str, dtype: Any = np.uint8) -> bytes:
    ok, data = cv2.imencode(ext, np.zeros(shape, dtype))
    assert ok
    return data.tobytes()


@pytest.mark.parametrize(
    "shape, ext, dtype, expected",
    [
        ((30, 40, 3), ".png", np.uint8, ImageHeader(40, 30, 3, 1)),
        ((30, 40), ".png", np.uint8, ImageHeader(40, 30, 1, 1)),
        ((30, 40, 4), ".png", np.uint8, ImageHeader(40, 30, 4, 1)),
        ((7, 9, 3), ".png", np.uint16, ImageHeader(9, 7, 3, 2)),
        ((30, 40, 3), ".jpg", np.uint8, ImageHeader(40, 30, 3, 1)),
        ((31, 17), ".jpg", np.uint8, ImageHeader(17, 31, 1, 1)),
    ],
)
def test_headers_say_what_opencv_decodes(
    shape: tuple[int, ...], ext: str, dtype: Any, expected: ImageHeader
) -> None:
    blob = encoded(shape, ext, dtype)
    assert read_header(blob) == expected
    image = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_UNCHANGED)
    channels = 1 if image.ndim == 2 else image.shape[2]
    assert (image.shape[1], image.shape[0], channels) == (
        expected.width,
        expected.height,
        expected.channels,
    )


def test_other_formats_and_broken_headers_have_none() -> None:
    assert read_header(encoded((4, 4, 3), ".bmp")) is None
    assert read_header(b"\x89PNG\r\n\x1a\n\0\0") is None
    assert read_header(b"\xff\xd8\xff") is None
    assert read_header(b"") is None


def test_the_front_limit_is_the_converters_default() -> None:
    assert DEFAULT_LIMIT == DEFAULT_MAX_INPUT_BYTES


def huge_png(side: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0"))


def test_an_image_over_the_limit_is_refused_before_decoding() -> None:
    target = ImageInput("image", "FP32", [1, 8, 8, 3], limit=100 * 100 * 3 * 4)
    with pytest.raises(TfsError, match="MAX_INPUT_BYTES") as caught:
        decode(target, [huge_png(101)])
    assert caught.value.http_status == 400
    with pytest.raises(TfsError, match="Image parsing failed"):  # weighed fine, then decoded
        decode(target, [huge_png(100)])


@pytest.mark.parametrize(
    "target, blobs, message",
    [
        (ImageInput("i", "FP32", [1, 4, 4, 3]), [b""], "Bytes contents is empty"),
        (ImageInput("i", "BOOL", [1, 4, 4, 3]), [b"x"], "Invalid input precision"),
        (ImageInput("i", "FP32", [2, 4, 4, 3]), [b"x"], "Invalid input batch size"),
        (ImageInput("i", "FP32", [1, 3, 4, 4]), [encoded((4, 4, 3), ".png")], "channels"),
        (
            ImageInput("i", "FP32", [-1, 4, 4, 3]),
            [encoded((5, 4, 3), ".png")],
            "Invalid input shape",
        ),
    ],
)
def test_ovms_errors(target: ImageInput, blobs: list[bytes], message: str) -> None:
    with pytest.raises(TfsError, match=message):
        decode(target, blobs)


class FakeTriton:
    """Counts the metadata and config calls the cache makes."""

    def __init__(self) -> None:
        self.calls = 0

    async def metadata(self, model: str, version: Optional[int]) -> Any:
        self.calls += 1
        tensor = SimpleNamespace(name="image", datatype="FP32", shape=[1, 4, 4, 3])
        return SimpleNamespace(inputs=[tensor], versions=["1"])

    async def config(self, model: str, version: Optional[int]) -> Any:
        limit = SimpleNamespace(string_value="1234")
        return SimpleNamespace(config=SimpleNamespace(parameters={"MAX_INPUT_BYTES": limit}))


def test_model_info_is_asked_once_per_version_until_dropped() -> None:
    triton = FakeTriton()
    cache = ModelInfoCache(triton)  # type: ignore[arg-type]

    async def scenario() -> list[int]:
        seen = []
        info = await cache.get("m", None)
        assert info.image_input("image") == ImageInput("image", "FP32", [1, 4, 4, 3], 1234)
        await cache.get("m", None)
        seen.append(triton.calls)
        await cache.get("m", 2)
        seen.append(triton.calls)
        cache.drop("m")
        await cache.get("m", None)
        seen.append(triton.calls)
        cache.drop()
        await cache.get("m", 2)
        seen.append(triton.calls)
        return seen

    assert asyncio.run(scenario()) == [1, 2, 3, 4]


def test_a_config_reload_that_changed_models_drops_the_cache() -> None:
    from ovtriton.tfs.reload import ConfigReload

    class Watcher:
        changed = False
        last_error = ""

        def poll(self, load: Any, unload: Any) -> bool:
            return self.changed

    watcher = Watcher()
    reload = ConfigReload(watcher, control=None, triton_http="")  # type: ignore[arg-type]
    dropped: list[str] = []
    reload.on_change(lambda: dropped.append("all"))
    reload.poll()
    reload.reload()
    assert dropped == []
    watcher.changed = True
    reload.poll()
    reload.reload()
    assert dropped == ["all", "all"]


def test_an_unreadable_config_leaves_the_defaults() -> None:
    import grpc

    class Restricted(FakeTriton):
        async def config(self, model: str, version: Optional[int]) -> Any:
            raise grpc.RpcError("model-config is restricted")

    info = asyncio.run(ModelInfoCache(Restricted()).get("m", None))  # type: ignore[arg-type]
    assert info.limit == DEFAULT_LIMIT and info.scalars == frozenset()


def test_wait_idle_returns_once_the_poll_ends() -> None:
    import threading

    from ovtriton.tfs.reload import ConfigReload

    entered, release = threading.Event(), threading.Event()

    class Watcher:
        last_error = ""

        def poll(self, load: Any, unload: Any) -> bool:
            entered.set()
            release.wait(30)
            return False

    reload = ConfigReload(Watcher(), control=None, triton_http="")  # type: ignore[arg-type]
    poller = threading.Thread(target=reload.poll)
    poller.start()
    assert entered.wait(30) and reload.busy()
    release.set()
    reload.wait_idle(30)
    assert not reload.busy()
    poller.join(30)
