"""OVMS's clients, unchanged but for host and port, against `ovtriton serve` started with OVMS's
command line (`--config_path --port --rest_port`): ovmsclient (gRPC and REST), TFS-API calls as
the seed's step-4 and step-6 clients make them, raw TFS REST, and KServe on OVMS's ports."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
import time
from pathlib import Path
from typing import Any, Iterator

import grpc
import numpy as np
import ovmsclient
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from openvino import opset13 as ops
import openvino as ov
from ovmsclient.tfs_compat.protos.tensorflow_serving.apis import (
    get_model_metadata_pb2,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from ovtriton.server.process import Ports
from ovtriton.tfs import protos
from ovtriton.tfs.tensors import from_numpy, to_numpy
from tests.integration.test_serve_cli import read_until
from tests.models import save, two_input_model

PIPELINE = "image_classification_pipeline"


def classifier(seed: int) -> ov.Model:
    """image [1,3,224,224] -> per-channel mean -> a fixed random projection -> softmax prob."""
    image = ops.parameter([1, 3, 224, 224], np.float32, name="image")
    mean = ops.reduce_mean(image, ops.constant(np.array([2, 3], np.int64)), keep_dims=False)
    weights = np.random.default_rng(seed).normal(size=(3, 1000)).astype(np.float32)
    prob = ops.softmax(ops.matmul(mean, ops.constant(weights), False, False), 1)
    prob.output(0).get_tensor().set_names({"prob"})
    return ov.Model([prob], [image], f"classifier{seed}")


def argmax_model() -> ov.Model:
    first = ops.parameter([1, 1000], np.float32, name="input1")
    second = ops.parameter([1, 1000], np.float32, name="input2")
    top = ops.topk(ops.add(first, second), np.int64(1), 1, "max", "value", "i32")
    label = ops.reshape(top.output(1), ops.constant(np.array([1], np.int64)), False)
    label.output(0).get_tensor().set_names({"argmax"})
    return ov.Model([label], [first, second], "argmax")


def pixels_model() -> ov.Model:
    """image NHWC [1,8,8,3] -> per-channel mean [1,3]: shows what a decoded image holds."""
    image = ops.parameter([1, 8, 8, 3], np.float32, name="image")
    mean = ops.reduce_mean(image, ops.constant(np.array([1, 2], np.int64)), keep_dims=False)
    mean.output(0).get_tensor().set_names({"mean"})
    return ov.Model([mean], [image], "pixels")


def node(name: str, model: str, inputs: dict[str, tuple[str, str]], out: tuple[str, str]) -> dict:
    return {
        "name": name,
        "model_name": model,
        "type": "DL model",
        "inputs": [{k: {"node_name": n, "data_item": d}} for k, (n, d) in inputs.items()],
        "outputs": [{"data_item": out[0], "alias": out[1]}],
    }


def write_ovms_config(folder: Path) -> Path:
    """The seed's pipeline shape (two classifiers, argmax) with small opset models, plus one
    model with two inputs and two outputs."""
    for name, model in (
        ("lite0", classifier(0)),
        ("lite1", classifier(1)),
        ("argmax", argmax_model()),
        ("two", two_input_model()),
        ("pixels", pixels_model()),
    ):
        save(model, folder / "models" / name / "1")
    models = [
        {"config": {"name": n, "base_path": f"models/{n}"}}
        for n in ("lite0", "lite1", "argmax", "two", "pixels")
    ]
    pipeline = {
        "name": PIPELINE,
        "inputs": ["image"],
        "nodes": [
            node("lite0_node", "lite0", {"image": ("request", "image")}, ("prob", "probability")),
            node("lite1_node", "lite1", {"image": ("request", "image")}, ("prob", "probability")),
            node(
                "argmax_node",
                "argmax",
                {"input1": ("lite0_node", "probability"), "input2": ("lite1_node", "probability")},
                ("argmax", "most_probable_label"),
            ),
        ],
        "outputs": [{"label": {"node_name": "argmax_node", "data_item": "most_probable_label"}}],
    }
    config = folder / "config.json"
    config.write_text(json.dumps({"model_config_list": models, "pipeline_config_list": [pipeline]}))
    return config


class Served:
    def __init__(self, triton: Ports, ovms: Ports) -> None:
        self.triton = triton
        self.grpc = f"127.0.0.1:{ovms.grpc}"
        self.rest = f"127.0.0.1:{ovms.http}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("ovms")
    config = write_ovms_config(folder)
    triton, ovms = Ports.free(), Ports.free()
    command = [
        sys.executable, "-m", "ovtriton", "serve",
        "--config_path", str(config), "--port", str(ovms.grpc), "--rest_port", str(ovms.http),
        *triton.flags(), "--workdir", str(folder / "work"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = read_until(process, "Press Ctrl-C to stop")
        assert f"gRPC 127.0.0.1:{ovms.grpc}" in output and f"REST 127.0.0.1:{ovms.http}" in output
        yield Served(triton, ovms)
    finally:
        process.terminate()
        process.wait(timeout=60)


def images(count: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.uniform(0, 255, (1, 3, 224, 224)).astype(np.float32) for _ in range(count)]


def kserve_label(url: str, image: np.ndarray) -> np.ndarray:
    client = grpcclient.InferenceServerClient(url)
    tensor = grpcclient.InferInput("image", list(image.shape), "FP32")
    tensor.set_data_from_numpy(image)
    return client.infer(PIPELINE, [tensor]).as_numpy("label")


@pytest.mark.parametrize("protocol", ["grpc", "rest"])
def test_ovmsclient_status_metadata_predict_match_kserve(served: Served, protocol: str) -> None:
    client = (
        ovmsclient.make_grpc_client(served.grpc)
        if protocol == "grpc"
        else ovmsclient.make_http_client(served.rest)
    )
    status = client.get_model_status(PIPELINE)
    assert status == {1: {"state": "AVAILABLE", "error_code": 0, "error_message": "OK"}}
    metadata = client.get_model_metadata(PIPELINE)
    assert metadata == {
        "model_version": 1,
        "inputs": {"image": {"shape": [1, 3, 224, 224], "dtype": "DT_FLOAT"}},
        "outputs": {"label": {"shape": [1], "dtype": "DT_INT32"}},
    }
    for image in images():
        label = client.predict({"image": image}, PIPELINE)
        expected = kserve_label(f"127.0.0.1:{served.triton.grpc}", image)
        np.testing.assert_array_equal(label, expected)
        assert label.shape == (1,)
        if protocol == "grpc":  # over REST ovmsclient reads JSON numbers with NumPy's defaults
            assert label.dtype == np.int32
    two = client.predict(
        {"a": np.ones((2, 3), np.float32), "b": np.full((2, 3), 3.0, np.float32)}, "two"
    )
    np.testing.assert_array_equal(two["sum"], np.full((2, 3), 4.0))
    np.testing.assert_array_equal(two["prod"], np.full((2, 3), 3.0))


@pytest.mark.parametrize("protocol", ["grpc", "rest"])
def test_ovmsclient_raises_ovms_error_classes(served: Served, protocol: str) -> None:
    client = (
        ovmsclient.make_grpc_client(served.grpc)
        if protocol == "grpc"
        else ovmsclient.make_http_client(served.rest)
    )
    image = images(1)[0]
    with pytest.raises(ovmsclient.ModelNotFoundError):
        client.predict({"image": image}, "no_such_pipeline")
    with pytest.raises(ovmsclient.ModelNotFoundError):
        client.get_model_status("no_such_pipeline")
    with pytest.raises(ovmsclient.ModelNotFoundError):
        client.get_model_metadata("no_such_pipeline")
    with pytest.raises(ovmsclient.InvalidInputError, match="wrong_name"):
        client.predict({"wrong_name": image}, PIPELINE)
    with pytest.raises(ovmsclient.InvalidInputError):
        client.predict({"image": image[:, :, :100]}, PIPELINE)
    if protocol == "grpc":  # REST's JSON numbers carry no type: OVMS reads them as the model's
        with pytest.raises(ovmsclient.InvalidInputError, match="(?i)data.?type"):
            client.predict({"image": image.astype(np.int32)}, PIPELINE)


def test_seed_step4_and_step6_client_calls(served: Served) -> None:
    """grpc_serving_client.py and get_serving_meta.py, with generated TFS classes (ovmsclient's)."""
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(served.grpc))
    for image in images():
        request = predict_pb2.PredictRequest()
        request.model_spec.name = PIPELINE
        request.inputs["image"].CopyFrom(ovmsclient.make_tensor_proto(image, shape=image.shape))
        result = stub.Predict(request, 10.0)
        # TF's make_ndarray: the int32 values are the tensor_content bytes
        label = np.frombuffer(result.outputs["label"].tensor_content, np.int32)
        assert (
            result.outputs["label"].dtype == 3
            and len(result.outputs["label"].tensor_shape.dim) == 1
        )
        np.testing.assert_array_equal(label, kserve_label(served.grpc, image))  # KServe, same port
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = PIPELINE
    request.metadata_field.append("signature_def")
    result = stub.GetModelMetadata(request, 10.0)
    signature = get_model_metadata_pb2.SignatureDefMap()
    signature.ParseFromString(result.metadata["signature_def"].value)  # as get_serving_meta.py
    serving = signature.ListFields()[0][1]["serving_default"]
    assert [d.size for d in serving.inputs["image"].tensor_shape.dim] == [1, 3, 224, 224]
    assert serving.inputs["image"].dtype == 1 and serving.outputs["label"].dtype == 3


def call(served: Served, method: str, request: Any, response_type: Any) -> Any:
    channel = grpc.insecure_channel(served.grpc)
    rpc = channel.unary_unary(
        method,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_type.FromString,
    )
    return rpc(request, timeout=30)


@pytest.mark.parametrize("typed", [False, True], ids=["tensor_content", "typed_val"])
def test_tfs_proto_client_predict_in_both_encodings(served: Served, typed: bool) -> None:
    request = protos.PredictRequest()
    request.model_spec.name = "two"
    request.inputs["a"].CopyFrom(from_numpy(np.arange(6, dtype=np.float32).reshape(2, 3), typed))
    request.inputs["b"].CopyFrom(from_numpy(np.full((2, 3), 2.0, np.float32), typed))
    request.output_filter.append("prod")
    response = call(
        served, "/tensorflow.serving.PredictionService/Predict", request, protos.PredictResponse
    )
    assert list(response.outputs) == ["prod"] and response.model_spec.version.value == 1
    np.testing.assert_array_equal(
        to_numpy(response.outputs["prod"]), np.arange(6).reshape(2, 3) * 2.0
    )


def test_tfs_proto_client_status_metadata_and_unimplemented(served: Served) -> None:
    request = protos.GetModelStatusRequest()
    request.model_spec.name = "lite0"
    request.model_spec.version.value = 1
    status = call(
        served,
        "/tensorflow.serving.ModelService/GetModelStatus",
        request,
        protos.GetModelStatusResponse,
    )
    assert [(s.version, s.state, s.status.error_code) for s in status.model_version_status] == [
        (1, 30, 0)
    ]
    meta_request = protos.GetModelMetadataRequest()
    meta_request.model_spec.name = "two"
    meta = call(
        served,
        "/tensorflow.serving.PredictionService/GetModelMetadata",
        meta_request,
        protos.GetModelMetadataResponse,
    )
    signatures = protos.SignatureDefMap()
    assert meta.metadata["signature_def"].Unpack(signatures)
    assert sorted(signatures.signature_def["serving_default"].outputs) == ["prod", "sum"]
    for method in ("Classify", "Regress", "MultiInference"):
        with pytest.raises(grpc.RpcError) as caught:
            call(
                served,
                f"/tensorflow.serving.PredictionService/{method}",
                protos.ModelSpec(),
                protos.ModelSpec,
            )
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


def rest(served: Served, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(
            urllib.request.Request(f"http://{served.rest}{path}", data=data)
        ) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_rest_row_and_column_formats(served: Served) -> None:
    rows = {"instances": [{"a": [1, 2, 3], "b": [1, 1, 1]}, {"a": [0, 0, 1], "b": [2, 2, 2]}]}
    status, body = rest(served, "/v1/models/two:predict", rows)
    assert status == 200
    assert body == {
        "predictions": [
            {"prod": [1, 2, 3], "sum": [2, 3, 4]},
            {"prod": [0, 0, 2], "sum": [2, 2, 3]},
        ]
    }
    columns = {"inputs": {"a": [[1, 2, 3]], "b": [[2, 2, 2]]}}
    status, body = rest(served, "/v1/models/two/versions/1:predict", columns)
    assert (status, body) == (200, {"outputs": {"prod": [[2, 4, 6]], "sum": [[3, 4, 5]]}})
    image = images(1)[0]
    status, body = rest(served, f"/v1/models/{PIPELINE}:predict", {"inputs": image.tolist()})
    assert status == 200 and body["outputs"] == kserve_label(served.grpc, image).tolist()
    status, body = rest(
        served, f"/v1/models/{PIPELINE}:predict", {"instances": [{"image": {"b64": "AAAA"}}]}
    )
    assert status == 400 and "image" in body["error"]
    status, body = rest(served, "/v1/models/two:predict", {"instances": [], "inputs": {}})
    assert status == 400 and "exactly one of" in body["error"]


def test_rest_status_metadata_config_and_metrics(served: Served) -> None:
    status, body = rest(served, "/v1/models/two/versions/1")
    assert (status, body) == (
        200,
        {
            "model_version_status": [
                {
                    "version": "1",
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": "OK"},
                }
            ]
        },
    )
    status, body = rest(served, "/v1/models/two/metadata")
    assert status == 200 and body["modelSpec"] == {
        "name": "two",
        "version": "1",
        "signatureName": "",
    }
    inputs = body["metadata"]["signature_def"]["signatureDef"]["serving_default"]["inputs"]
    assert (
        inputs["a"]["dtype"] == "DT_FLOAT" and inputs["a"]["tensorShape"]["dim"][1]["size"] == "3"
    )
    assert rest(served, "/v1/models/nothing")[0] == 404
    status, body = rest(served, "/v1/config")
    assert status == 200 and body[PIPELINE]["model_version_status"][0]["state"] == "AVAILABLE"
    assert set(body) == {PIPELINE, "lite0", "lite1", "argmax", "two", "pixels"}
    status, body = rest(served, "/v1/config/reload", {})  # nothing changed: 200, as OVMS
    assert status == 200 and set(body) == {PIPELINE, "lite0", "lite1", "argmax", "two", "pixels"}
    with urllib.request.urlopen(f"http://{served.rest}/metrics") as answer:
        metrics = answer.read().decode()
    assert (
        'ovms_requests_success{api="TensorFlowServing",interface="REST",method="GetModelStatus",name="two"}'
        in metrics
    )
    assert "nv_inference_request_success" in metrics  # Triton's own, on the same endpoint
    ovmsclient.make_grpc_client(served.grpc).predict(
        {"a": np.ones((1, 3), np.float32), "b": np.ones((1, 3), np.float32)}, "two"
    )
    with urllib.request.urlopen(f"http://{served.rest}/metrics") as answer:
        metrics = answer.read().decode()
    assert re.search(
        r'^ovms_requests_success\{api="TensorFlowServing",interface="gRPC",method="Predict",'
        r'name="two"\} [1-9]',
        metrics,
        re.MULTILINE,
    )
    assert 'ovms_request_time_us_bucket{interface="gRPC",le="+Inf",name="two"}' in metrics
    assert 'le="1.474755971e+09"' in metrics  # OVMS's last bucket, floor(10 * 1.8**32)


def test_kserve_answers_on_ovms_ports(served: Served) -> None:
    image = images(1)[0]
    tensor = httpclient.InferInput("image", list(image.shape), "FP32")
    tensor.set_data_from_numpy(image)
    label = (
        httpclient.InferenceServerClient(served.rest).infer(PIPELINE, [tensor]).as_numpy("label")
    )
    np.testing.assert_array_equal(label, kserve_label(f"127.0.0.1:{served.triton.grpc}", image))
    assert grpcclient.InferenceServerClient(served.grpc).is_model_ready(PIPELINE)


def test_recording_rules_read_metrics_triton_exports(served: Served) -> None:
    """Each rule reads only metrics the running Triton exports and records an OVMS name."""
    import yaml

    rules_file = Path(__file__).parents[2] / "deploy" / "monitoring" / "ovms-recording-rules.yml"
    rules = yaml.safe_load(rules_file.read_text())["groups"][0]["rules"]
    with urllib.request.urlopen(f"http://{served.rest}/metrics") as answer:
        exported = set(re.findall(r"^# TYPE (\w+) ", answer.read().decode(), re.MULTILINE))
    ovms_names = {
        "ovms_requests_success",
        "ovms_requests_fail",
        "ovms_current_requests",
        "ovms_request_time_us",
        "ovms_inference_time_us",
        "ovms_wait_for_infer_req_time_us",
    }
    assert {rule["record"].split(":")[0] for rule in rules} == ovms_names
    for rule in rules:
        used = set(re.findall(r"\bnv_\w+", rule["expr"]))
        assert used and used <= exported, f"{rule['record']}: {used - exported} not exported"


def png(color: tuple[int, int, int], size: tuple[int, int] = (16, 12)) -> bytes:
    """A PNG of one RGB ``color``, ``size`` = (width, height)."""
    import cv2

    image = np.empty((size[1], size[0], 3), np.uint8)
    image[...] = color[::-1]  # OpenCV writes BGR
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()


@pytest.mark.parametrize("protocol", ["grpc", "rest"])
def test_binary_images_are_decoded_to_bgr_resized_and_checked(
    served: Served, protocol: str
) -> None:
    client = (
        ovmsclient.make_grpc_client(served.grpc)
        if protocol == "grpc"
        else ovmsclient.make_http_client(served.rest)
    )
    mean = client.predict({"image": png((200, 100, 50))}, "pixels")  # 16x12 resized to 8x8
    np.testing.assert_allclose(mean, [[50.0, 100.0, 200.0]])  # BGR, 0-255, as OVMS
    with pytest.raises(ovmsclient.InvalidInputError, match="Image parsing failed"):
        client.predict({"image": b"not an image"}, "pixels")
    with pytest.raises(ovmsclient.InvalidInputError, match="number of channels"):
        client.predict({"image": png((1, 2, 3))}, PIPELINE)  # NCHW [1,3,224,224]
    with pytest.raises(ovmsclient.InvalidInputError, match="takes 1 image"):
        client.predict({"image": [png((1, 2, 3)), png((1, 2, 3))]}, "pixels")


def test_unknown_version_is_not_found(served: Served) -> None:
    client = ovmsclient.make_grpc_client(served.grpc)
    a, b = np.ones((1, 3), np.float32), np.ones((1, 3), np.float32)
    with pytest.raises(ovmsclient.ModelNotFoundError):
        client.predict({"a": a, "b": b}, "two", model_version=7)
    with pytest.raises(ovmsclient.ModelNotFoundError):
        client.get_model_status("two", model_version=7)
    with pytest.raises(ovmsclient.ModelNotFoundError):
        client.get_model_metadata("two", model_version=7)


def test_one_model_mode_serves_on_ovms_ports(tmp_path: Path) -> None:
    """`--model_path --model_name` with `--rest_port` only: ovmsclient over REST."""
    save(two_input_model(), tmp_path / "adder" / "2")
    triton, ovms = Ports.free(), Ports.free()
    command = [
        sys.executable, "-m", "ovtriton", "serve", "--model_path", str(tmp_path / "adder"),
        "--model_name", "adder", "--nireq", "2", "--rest_port", str(ovms.http),
        *triton.flags(), "--workdir", str(tmp_path / "work"),
        # Triton's repository API closed to callers without a header: status still answers.
        "--", "--grpc-restricted-protocol=model-repository:admin-key=secret",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        read_until(process, "Press Ctrl-C to stop")
        client = ovmsclient.make_http_client(f"127.0.0.1:{ovms.http}")
        assert client.get_model_status("adder")[2]["state"] == "AVAILABLE"
        out = client.predict(
            {"a": np.ones((1, 3), np.float32), "b": np.ones((1, 3), np.float32)}, "adder"
        )
        np.testing.assert_array_equal(out["sum"], [[2.0, 2.0, 2.0]])
        # /v1/config needs the repository index: serve sends the operator's key too.
        status, body = rest(Served(triton, ovms), "/v1/config")
        assert status == 200 and body["adder"]["model_version_status"] == [
            {
                "version": "2",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": "OK"},
            }
        ]
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_kserve_bytes_images_are_decoded_on_ovms_port_not_tritons(served: Served) -> None:
    from tritonclient.grpc import service_pb2, service_pb2_grpc
    from tritonclient.utils import InferenceServerException

    blob = np.array([png((10, 20, 30))], dtype=np.object_)
    tensor = grpcclient.InferInput("image", [1], "BYTES")
    tensor.set_data_from_numpy(blob)
    front = grpcclient.InferenceServerClient(served.grpc)
    np.testing.assert_allclose(front.infer("pixels", [tensor]).as_numpy("mean"), [[30, 20, 10]])
    triton = grpcclient.InferenceServerClient(f"127.0.0.1:{served.triton.grpc}")
    with pytest.raises(InferenceServerException, match="BYTES"):
        triton.infer("pixels", [tensor])  # Triton's own port: config.pbtxt says FP32
    # The typed `contents` form (no raw_input_contents) is rewritten too.
    request = service_pb2.ModelInferRequest(model_name="pixels")
    request.inputs.add(name="image", datatype="BYTES", shape=[1]).contents.bytes_contents.append(
        png((1, 2, 3))
    )
    stub = service_pb2_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(served.grpc))
    response = stub.ModelInfer(request, timeout=30)
    mean = np.frombuffer(response.raw_output_contents[0], np.float32)
    np.testing.assert_allclose(mean, [3, 2, 1])
    bad = grpcclient.InferInput("image", [1], "BYTES")
    bad.set_data_from_numpy(np.array([b"garbage"], dtype=np.object_))
    with pytest.raises(InferenceServerException, match="Image parsing failed"):
        front.infer("pixels", [bad])


def test_project_tfs_client_prints_the_seeds_step6_report(served: Served) -> None:
    from ovtriton.tfs.client import TfsClient, metadata_lines

    client = TfsClient(served.grpc)
    assert metadata_lines(client, PIPELINE) == [
        f"Getting model metadata for model: {PIPELINE}",
        "Inputs metadata:",
        "\tInput name: image; shape: [1, 3, 224, 224]; dtype: DT_FLOAT",
        "Outputs metadata:",
        "\tOutput name: label; shape: [1]; dtype: DT_INT32",
    ]
    assert client.status(PIPELINE) == {1: "AVAILABLE"}
    image = images(1)[0]
    label = client.predict(PIPELINE, {"image": image})["label"]
    np.testing.assert_array_equal(label, kserve_label(served.grpc, image))


def test_serve_fails_clearly_when_an_ovms_port_is_taken(tmp_path: Path) -> None:
    import socket

    save(two_input_model(), tmp_path / "adder" / "1")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [
            sys.executable, "-m", "ovtriton", "serve", "--model_path", str(tmp_path / "adder"),
            "--model_name", "adder", "--port", str(port), *Ports.free().flags(),
            "--workdir", str(tmp_path / "work"),
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    # Checked before anything starts, like Triton's own ports, with the OVMS flag to change.
    output = result.stdout + result.stderr
    assert f"OVMS gRPC port {port} on 127.0.0.1 is already in use" in output, output
    assert "choose another port (--port)" in output, output


def test_kserve_streaming_passes_through_ovms_grpc_port(served: Served) -> None:
    import queue

    answers: queue.Queue = queue.Queue()
    client = grpcclient.InferenceServerClient(served.grpc)
    client.start_stream(callback=lambda result, error: answers.put((result, error)))
    try:
        for value in (1.0, 2.0):
            a = grpcclient.InferInput("a", [1, 3], "FP32")
            a.set_data_from_numpy(np.full((1, 3), value, np.float32))
            b = grpcclient.InferInput("b", [1, 3], "FP32")
            b.set_data_from_numpy(np.ones((1, 3), np.float32))
            client.async_stream_infer("two", [a, b])
        sums = []
        for _ in range(2):
            result, error = answers.get(timeout=30)
            assert error is None, error
            sums.append(result.as_numpy("sum").tolist())
    finally:
        client.stop_stream()
    assert sorted(sums) == [[[2.0, 2.0, 2.0]], [[3.0, 3.0, 3.0]]]


def test_status_follows_a_model_removed_from_the_watched_config(tmp_path: Path) -> None:
    for name in ("keep", "gone"):
        save(two_input_model(), tmp_path / name / "1")
    config = tmp_path / "config.json"

    def write(names: tuple[str, ...]) -> None:
        models = [{"config": {"name": n, "base_path": n}} for n in names]
        config.write_text(json.dumps({"model_config_list": models}))

    write(("keep", "gone"))
    triton, ovms = Ports.free(), Ports.free()
    command = [
        sys.executable, "-m", "ovtriton", "serve", "--config_path", str(config),
        "--port", str(ovms.grpc), *triton.flags(), "--workdir", str(tmp_path / "work"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        read_until(process, "Press Ctrl-C to stop")
        client = ovmsclient.make_grpc_client(f"127.0.0.1:{ovms.grpc}")
        assert client.get_model_status("gone")[1]["state"] == "AVAILABLE"
        write(("keep",))
        # OVMS keeps a retired model as END; so does the front, though Triton forgot it.
        deadline = time.monotonic() + 60
        while client.get_model_status("gone")[1]["state"] != "END":
            assert time.monotonic() < deadline, "'gone' is not END 60 s after it left the config"
            time.sleep(0.5)
        assert client.get_model_status("gone") == {
            1: {"state": "END", "error_code": 0, "error_message": "OK"}
        }
        assert client.get_model_status("keep")[1]["state"] == "AVAILABLE"
    finally:
        process.terminate()
        process.wait(timeout=60)
