"""The front as OVMS answers: binary images, HTTP manners (gzip, malformed JSON), TFS scalars.

Binary images on OVMS's ports are compared with OVMS's preprocessing written here with OpenCV.

The reference follows OVMS's tensor_conversion step by step (``cv2.imdecode`` with
``IMREAD_UNCHANGED``, the input's precision, ``cv2.resize`` bilinear to a static H x W, NHWC),
independently of ``ovtriton.tfs.images``. Every model returns its input unchanged, so the answer
is the tensor the front decoded. Each case goes over TFS gRPC and REST (ovmsclient), KServe gRPC
and REST (tritonclient, binary extension) and a plain KServe REST JSON body.
"""

from __future__ import annotations

import base64
import gzip
import json
import struct
import subprocess
import sys
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import cv2
import numpy as np
import ovmsclient
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from openvino import opset13 as ops
import openvino as ov

from ovtriton.server.process import Ports
from tests.integration.test_serve_cli import read_until
from tests.models import save

# name -> (shape, element type): each model returns its input (out = image + 0).
MODELS = {
    "rgb": ([1, 6, 5, 3], np.float32),
    "gray": ([1, 6, 5, 1], np.float32),
    "alpha": ([1, 6, 5, 4], np.float32),
    "u8": ([1, 6, 5, 3], np.uint8),
    "pair": ([2, 6, 5, 3], np.float32),
    "dynamic": ([1, -1, -1, 3], np.float32),
    "dynamic_pair": ([2, -1, -1, 3], np.float32),
}
PROTOCOLS = ["tfs_grpc", "tfs_rest", "kserve_grpc", "kserve_rest", "kserve_json"]


def doubler() -> ov.Model:
    """A true scalar model: x [] -> y = 2x []."""
    x = ops.parameter([], np.float32, name="x")
    y = ops.multiply(x, ops.constant(np.float32(2)))
    y.output(0).get_tensor().set_names({"y"})
    return ov.Model([y], [x], "doubler")


def identity(shape: list[int], dtype: Any) -> ov.Model:
    image = ops.parameter(shape, dtype, name="image")
    out = ops.add(image, ops.constant(np.zeros((), dtype)))
    out.output(0).get_tensor().set_names({"out"})
    return ov.Model([out], [image], "identity")


class Served:
    def __init__(self, ovms: Ports) -> None:
        self.grpc = f"127.0.0.1:{ovms.grpc}"
        self.rest = f"127.0.0.1:{ovms.http}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("images")
    for name, (shape, dtype) in MODELS.items():
        save(identity(shape, dtype), folder / "models" / name / "1")
    save(doubler(), folder / "models" / "doubler" / "1")
    names = [*MODELS, "doubler"]
    config = folder / "config.json"
    config.write_text(
        json.dumps(
            {
                "model_config_list": [
                    {"config": {"name": n, "base_path": f"models/{n}"}} for n in names
                ]
            }
        )
    )
    triton, ovms = Ports.free(), Ports.free()
    command = [
        sys.executable, "-m", "ovtriton", "serve",
        "--config_path", str(config), "--port", str(ovms.grpc), "--rest_port", str(ovms.http),
        *triton.flags(), "--workdir", str(folder / "work"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        read_until(process, "Press Ctrl-C to stop")
        yield Served(ovms)
    finally:
        process.terminate()
        process.wait(timeout=60)


# --- the reference: OVMS's steps, written with OpenCV ------------------------------------------


def reference(blobs: list[bytes], shape: list[int], dtype: Any) -> np.ndarray:
    _, height, width, _ = shape
    out = []
    for blob in blobs:
        image = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_UNCHANGED)
        if dtype == np.uint8 and image.dtype != np.uint8:
            image = cv2.convertScaleAbs(image)  # saturate_cast<uchar>, as Mat::convertTo
        else:
            image = image.astype(dtype)
        if height > 0 and image.shape[:2] != (height, width):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
        out.append(image.reshape(image.shape[0], image.shape[1], -1))
    return np.stack(out)


def picture(height: int, width: int, channels: int, seed: int, depth: Any = np.uint8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    top = 65535 if depth == np.uint16 else 255
    smooth = np.linspace(0, top, height * width * max(channels, 1)).reshape(height, width, -1)
    noisy = smooth * 0.7 + rng.uniform(0, top * 0.3, smooth.shape)
    image = noisy.astype(depth)
    return image[..., 0] if channels == 1 else image


def encode(image: np.ndarray, ext: str) -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


# --- the five clients ---------------------------------------------------------------------------


def call(served: Served, protocol: str, model: str, blobs: list[bytes]) -> np.ndarray:
    if protocol in ("tfs_grpc", "tfs_rest"):
        make = (
            ovmsclient.make_grpc_client if protocol == "tfs_grpc" else ovmsclient.make_http_client
        )
        client = make(served.grpc if protocol == "tfs_grpc" else served.rest)
        return np.asarray(client.predict({"image": blobs}, model))
    data = np.array(blobs, dtype=np.object_)
    if protocol == "kserve_grpc":
        tensor = grpcclient.InferInput("image", [len(blobs)], "BYTES")
        tensor.set_data_from_numpy(data)
        answer = grpcclient.InferenceServerClient(served.grpc).infer(model, [tensor])
        return answer.as_numpy("out")
    if protocol == "kserve_rest":
        tensor = httpclient.InferInput("image", [len(blobs)], "BYTES")
        tensor.set_data_from_numpy(data, binary_data=True)
        answer = httpclient.InferenceServerClient(served.rest).infer(model, [tensor])
        return answer.as_numpy("out")
    values = [{"b64": base64.b64encode(b).decode()} for b in blobs]
    body = {
        "inputs": [{"name": "image", "shape": [len(blobs)], "datatype": "BYTES", "data": values}]
    }
    status, answer, _ = post(served, f"/v2/models/{model}/infer", json.dumps(body).encode())
    assert status == 200, answer
    out = json.loads(answer)["outputs"][0]
    return np.array(out["data"], dtype=MODELS[model][1]).reshape(out["shape"])


def post(
    served: Served, path: str, body: bytes, headers: Optional[dict[str, str]] = None
) -> tuple[int, bytes, Any]:
    request = urllib.request.Request(
        f"http://{served.rest}{path}", data=body, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read(), answer.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def error_of(served: Served, protocol: str, model: str, blobs: list[bytes]) -> str:
    """The error message a client gets; also checks the code is INVALID_ARGUMENT / 400."""
    if protocol == "kserve_json":
        values = [{"b64": base64.b64encode(b).decode()} for b in blobs]
        body = {
            "inputs": [
                {"name": "image", "shape": [len(blobs)], "datatype": "BYTES", "data": values}
            ]
        }
        status, answer, _ = post(served, f"/v2/models/{model}/infer", json.dumps(body).encode())
        assert status == 400, answer
        return str(json.loads(answer)["error"])
    errors: tuple[type[BaseException], ...] = (
        ovmsclient.InvalidInputError,
        grpcclient.InferenceServerException,
    )
    with pytest.raises(errors) as caught:
        call(served, protocol, model, blobs)
    if isinstance(caught.value, grpcclient.InferenceServerException):
        assert caught.value.status() in ("StatusCode.INVALID_ARGUMENT", "400"), caught.value
    return str(caught.value)


# --- the cases ----------------------------------------------------------------------------------

Case = Callable[[], tuple[str, list[bytes]]]
CASES: dict[str, Case] = {
    "jpeg_larger": lambda: ("rgb", [encode(picture(37, 23, 3, 1), ".jpg")]),
    "png_smaller": lambda: ("rgb", [encode(picture(4, 3, 3, 2), ".png")]),
    "png_same_size": lambda: ("rgb", [encode(picture(6, 5, 3, 3), ".png")]),
    "jpeg_gray": lambda: ("gray", [encode(picture(17, 29, 1, 4), ".jpg")]),
    "png_alpha": lambda: ("alpha", [encode(picture(9, 14, 4, 5), ".png")]),
    "png16_to_uint8": lambda: ("u8", [encode(picture(11, 8, 3, 6, np.uint16), ".png")]),
    "jpeg_to_uint8": lambda: ("u8", [encode(picture(13, 21, 3, 7), ".jpg")]),
    "batch_two_sizes": lambda: (
        "pair",
        [encode(picture(8, 9, 3, 8), ".png"), encode(picture(30, 12, 3, 9), ".jpg")],
    ),
    "dynamic_keeps_size": lambda: ("dynamic", [encode(picture(7, 11, 3, 10), ".png")]),
}


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_served_images_equal_ovms_preprocessing(served: Served, protocol: str, case: str) -> None:
    model, blobs = CASES[case]()
    shape, dtype = MODELS[model]
    expected = reference(blobs, shape, dtype)
    got = call(served, protocol, model, blobs)
    assert got.shape == expected.shape
    if protocol != "tfs_rest":  # TFS REST's JSON numbers carry no type (ovmsclient: float64)
        assert got.dtype == expected.dtype
    np.testing.assert_allclose(
        got.astype(np.float64), expected.astype(np.float64), rtol=0, atol=1e-6
    )


def huge_png(side: int = 20000) -> bytes:
    """A PNG whose header says side x side RGB (a few hundred bytes: never decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_images_refused_as_ovms_refuses_them(served: Served, protocol: str) -> None:
    gray = encode(picture(6, 5, 1, 11), ".png")
    assert "Invalid number of channels" in error_of(served, protocol, "rgb", [gray])
    rgba = encode(picture(6, 5, 4, 12), ".png")
    assert "Invalid number of channels" in error_of(served, protocol, "rgb", [rgba])
    text = error_of(served, protocol, "rgb", [b"plain text, no image"])
    assert "Image parsing failed" in text and "object at 0x" not in text
    text = error_of(served, protocol, "rgb", [huge_png()])
    assert "20000x20000" in text and "MAX_INPUT_BYTES" in text
    two_sizes = [encode(picture(7, 11, 3, 13), ".png"), encode(picture(8, 11, 3, 14), ".png")]
    assert "same resolution" in error_of(served, protocol, "dynamic_pair", two_sizes)
    assert "batch size" in error_of(served, protocol, "pair", two_sizes[:1])


def test_kserve_rest_answers_compressed_only_when_asked(served: Served) -> None:
    blob = encode(picture(6, 5, 3, 15), ".png")
    values = [{"b64": base64.b64encode(blob).decode()}]
    body = {"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES", "data": values}]}
    data = json.dumps(body).encode()
    status, plain, headers = post(served, "/v2/models/rgb/infer", data)
    assert status == 200 and headers.get("Content-Encoding") is None
    assert json.loads(plain)["outputs"][0]["shape"] == [1, 6, 5, 3]
    status, packed, headers = post(
        served, "/v2/models/rgb/infer", data, {"Accept-Encoding": "gzip"}
    )
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert json.loads(gzip.decompress(packed)) == json.loads(plain)


@pytest.mark.parametrize(
    "path", ["/v2/models/rgb/infer", "/v1/models/rgb:predict"], ids=["kserve", "tfs"]
)
def test_malformed_json_gets_ovms_status_and_text(served: Served, path: str) -> None:
    for body in (b'{"inputs": [', b"not json at all"):
        status, answer, _ = post(served, path, body, {"Content-Type": "application/json"})
        assert status == 412, answer
        assert json.loads(answer)["error"].startswith("The file is not valid json")


def test_tfs_scalars_are_sent_and_answered_as_scalars(served: Served) -> None:
    """Triton 2.51 has no 0-d tensors: the front sends a TFS scalar as [1], answers it as []."""
    for make, url in (
        (ovmsclient.make_grpc_client, served.grpc),
        (ovmsclient.make_http_client, served.rest),
    ):
        client = make(url)
        answer = np.asarray(client.predict({"x": np.float32(3.5)}, "doubler"))
        assert answer.shape == () and float(answer) == 7.0
        assert client.get_model_metadata("doubler")["inputs"] == {
            "x": {"shape": [], "dtype": "DT_FLOAT"}
        }
    status, body, _ = post(served, "/v1/models/doubler:predict", b'{"inputs": {"x": 1.25}}')
    assert status == 200 and json.loads(body) == {"outputs": 2.5}


def test_kserve_rest_binary_body_as_curl_sends_it(served: Served) -> None:
    """OVMS's docs: one input may omit binary_data_size; the whole binary part is its image."""
    blob = encode(picture(20, 9, 3, 16), ".jpg")
    head = json.dumps({"inputs": [{"name": "image", "shape": [1], "datatype": "BYTES"}]}).encode()
    length = {"Inference-Header-Content-Length": str(len(head))}
    status, body, _ = post(served, "/v2/models/rgb/infer", head + blob, length)
    assert status == 200, body
    out = json.loads(body)["outputs"][0]
    got = np.array(out["data"], np.float32).reshape(out["shape"])
    np.testing.assert_allclose(got, reference([blob], *MODELS["rgb"]), rtol=0, atol=1e-6)
    for header, message in (
        ({"Inference-Header-Content-Length": "many"}, "couldn't be parsed"),
        ({"Inference-Header-Content-Length": str(len(head) + len(blob) + 1)}, "exceeds"),
    ):
        status, body, _ = post(served, "/v2/models/rgb/infer", head + blob, header)
        assert status == 400 and message in json.loads(body)["error"], body
    sized = json.dumps(
        {
            "inputs": [
                {
                    "name": "image",
                    "shape": [1],
                    "datatype": "BYTES",
                    "parameters": {"binary_data_size": len(blob) + 10},
                }
            ]
        }
    ).encode()
    length = {"Inference-Header-Content-Length": str(len(sized))}
    status, body, _ = post(served, "/v2/models/rgb/infer", sized + blob, length)
    assert status == 400 and "smaller than binary_data_size" in json.loads(body)["error"]


def test_a_reload_that_changes_a_model_changes_how_images_are_decoded(tmp_path: Path) -> None:
    """The front's model info is dropped on reload: the new H x W resizes the next image."""
    save(identity([1, 6, 5, 3], np.float32), tmp_path / "a" / "1")
    save(identity([1, 4, 7, 3], np.float32), tmp_path / "b" / "1")
    config = tmp_path / "config.json"

    def point_to(folder: str) -> None:
        body = {"model_config_list": [{"config": {"name": "pix", "base_path": folder}}]}
        config.write_text(json.dumps(body))

    point_to("a")
    triton, ovms = Ports.free(), Ports.free()
    command = [
        sys.executable, "-m", "ovtriton", "serve", "--config_path", str(config),
        "--file_system_poll_wait_seconds", "0", "--port", str(ovms.grpc),
        "--rest_port", str(ovms.http), *triton.flags(), "--workdir", str(tmp_path / "work"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        read_until(process, "Press Ctrl-C to stop")
        here = Served(ovms)
        blob = encode(picture(9, 9, 3, 17), ".png")
        assert call(here, "tfs_grpc", "pix", [blob]).shape == (1, 6, 5, 3)
        point_to("b")
        status, body, _ = post(here, "/v1/config/reload", b"")
        assert status == 201, body
        got = call(here, "kserve_grpc", "pix", [blob])
        np.testing.assert_allclose(got, reference([blob], [1, 4, 7, 3], np.float32), atol=1e-6)
    finally:
        process.terminate()
        process.wait(timeout=60)
