"""The openvino_py backend in a real tritonserver, compared with in-process OpenVINO."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import openvino as ov
import pytest
import tritonclient.http as httpclient

from ovtriton.server.process import TritonServer
from tests.integration.clients import Client, is_client_error
from tests.integration.conftest import BROKEN

PROTOCOLS = ["http", "grpc"]


@pytest.fixture(params=PROTOCOLS)
def client(request: pytest.FixtureRequest, server: TritonServer) -> Client:
    return Client(server, request.param)


def in_process(repository: Path, name: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same model file run directly with OpenVINO (no Triton, no backend code)."""
    core = ov.Core()
    version = repository / name / "1"
    path = next(p for p in sorted(version.iterdir()) if p.suffix in (".xml", ".onnx"))
    compiled = core.compile_model(core.read_model(str(path)), "CPU")
    result = compiled(inputs)
    return {out.get_any_name(): result[out] for out in compiled.outputs}


def test_every_good_model_is_ready_and_every_broken_one_says_why(server: TritonServer) -> None:
    states = {m.name: m for m in server.models()}
    for name in (
        "scale",
        "two",
        "ints",
        "image_nhwc",
        "bools",
        "onnx_add",
        "loose",
        "auto_batched",
    ):
        assert states[name].state == "READY", (name, states[name].reason)
    for name, reason in BROKEN.items():
        assert states[name].state == "UNAVAILABLE"
        assert reason in states[name].reason, states[name].reason


def test_outputs_equal_in_process_openvino(client: Client, repository: Path) -> None:
    rng = np.random.default_rng(1)
    a, b = rng.random((2, 3), np.float32), rng.random((2, 3), np.float32)
    served = client.infer("two", {"a": a, "b": b})
    expected = in_process(repository, "two", {"a": a, "b": b})
    assert set(served) == {"sum", "prod"}
    for name in served:
        np.testing.assert_allclose(served[name], expected[name], rtol=1e-6)


def test_tensor_names_with_slash_colon_and_dot_are_served(client: Client, repository: Path) -> None:
    x = np.arange(4, dtype=np.float32).reshape(1, 4)
    served = client.infer("scale", {"INPUT/x:0": x})
    np.testing.assert_allclose(
        served["out.y"], in_process(repository, "scale", {"INPUT/x:0": x})["out.y"]
    )


def test_integer_and_bool_tensors_round_trip(client: Client) -> None:
    ints = np.array([[1, -2, 3]], dtype=np.int64)
    np.testing.assert_array_equal(client.infer("ints", {"i": ints})["o"], ints * 2)
    flags = np.array([[True, False]])
    np.testing.assert_array_equal(client.infer("bools", {"flags": flags})["negated"], ~flags)


def test_onnx_model_is_served(client: Client) -> None:
    x = np.array([[1.0, 2.0]], dtype=np.float32)
    np.testing.assert_allclose(client.infer("onnx_add", {"x": x})["y"], x + 1)


def test_layout_parameter_takes_nhwc_requests(client: Client) -> None:
    nchw = np.random.default_rng(2).random((1, 3, 4, 4), np.float32)
    served = client.infer("image_nhwc", {"image": nchw.transpose(0, 2, 3, 1).copy()})
    np.testing.assert_allclose(served["mean"], nchw.mean(axis=(2, 3)), rtol=1e-5)


def test_cache_dir_parameter_fills_the_compiled_model_cache(
    server: TritonServer, repository: Path
) -> None:
    assert any((repository / "image_nhwc" / "cache").iterdir())


def test_only_requested_outputs_come_back(client: Client) -> None:
    ones = np.ones((1, 3), np.float32)
    assert set(client.infer("two", {"a": ones, "b": ones}, outputs=["prod"])) == {"prod"}


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"a": np.ones((1, 3), np.float32)}, "b"),  # missing input
        (
            {
                "a": np.ones((1, 3), np.float32),
                "b": np.ones((1, 3), np.float32),
                "c": np.ones((1, 3), np.float32),
            },
            "c",
        ),  # extra input
        ({"a": np.ones((1, 3), np.float32), "b": np.ones((1, 3), np.int32)}, "b"),  # dtype
        ({"a": np.ones((1, 3), np.float32), "b": np.ones((3,), np.float32)}, "b"),  # rank
        ({"a": np.ones((1, 3), np.float32), "b": np.ones((1, 4), np.float32)}, "b"),  # dims
    ],
    ids=["missing", "extra", "dtype", "rank", "dims"],
)
def test_malformed_request_gets_client_error_naming_the_tensor(
    client: Client, inputs: dict, expected: str
) -> None:
    exc = client.error("two", inputs)
    assert is_client_error(exc, client.protocol), exc
    assert f"'{expected}'" in exc.message(), exc.message()
    ones = np.ones((1, 3), np.float32)
    np.testing.assert_allclose(client.infer("two", {"a": ones, "b": ones})["sum"], 2 * ones)


def test_backend_rejects_what_triton_lets_through(client: Client) -> None:
    exc = client.error("loose", {"INPUT/x:0": np.ones((1, 5), np.float32)})
    assert is_client_error(exc, client.protocol), exc
    assert "input 'INPUT/x:0': expected shape [1:4,4], got [1,5]" in exc.message()
    assert client.raw.is_model_ready("loose")


def test_batch_above_max_batch_size_is_refused(client: Client) -> None:
    exc = client.error("scale", {"INPUT/x:0": np.ones((9, 4), np.float32)})
    assert is_client_error(exc, client.protocol), exc


def test_bad_and_good_requests_batched_together_each_get_their_own_answer(
    server: TritonServer,
) -> None:
    client = Client(server, "grpc")
    good = {"INPUT/x:0": np.ones((1, 4), np.float32)}
    bad = {"INPUT/x:0": np.ones((1, 5), np.float32)}
    with ThreadPoolExecutor(16) as pool:
        futures = [
            pool.submit(
                client.error if i % 4 == 0 else client.infer, "loose", bad if i % 4 == 0 else good
            )
            for i in range(32)
        ]
        results = [f.result() for f in futures]
    for i, result in enumerate(results):
        if i % 4 == 0:
            assert "expected shape" in result.message()
        else:
            np.testing.assert_allclose(result["out.y"], 2 * good["INPUT/x:0"])


def test_dynamic_batching_runs_fewer_executions_than_inferences(server: TritonServer) -> None:
    client = Client(server, "grpc")
    before = _stats(client, "scale")
    rows = [np.full((1, 4), i, np.float32) for i in range(64)]
    with ThreadPoolExecutor(16) as pool:
        outputs = list(pool.map(lambda x: client.infer("scale", {"INPUT/x:0": x})["out.y"], rows))
    for x, y in zip(rows, outputs):
        np.testing.assert_allclose(y, 2 * x)
    after = _stats(client, "scale")
    inferences = after["inference_count"] - before["inference_count"]
    executions = after["execution_count"] - before["execution_count"]
    assert inferences == 64
    assert executions < inferences, (executions, inferences)


def _stats(client: Client, model: str) -> dict[str, int]:
    stats = client.raw.get_inference_statistics(model, as_json=True)["model_stats"][0]
    return {k: int(stats.get(k, 0)) for k in ("inference_count", "execution_count")}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (  # batching: the batch dimension shows as -1, the rest is the model file's
            "auto_batched",
            {
                "inputs": [("INPUT/x:0", "FP32", [-1, 4])],
                "outputs": [("out.y", "FP32", [-1, 4])],
            },
        ),
        (  # version 2 has [-1,6]; the policy loads version 1, whose file is read
            "auto_version",
            {
                "inputs": [("INPUT/x:0", "FP32", [-1, 4])],
                "outputs": [("out.y", "FP32", [-1, 4])],
            },
        ),
        (  # LAYOUT NHWC:NCHW: the model's [1,3,4,4] input is declared as the request's NHWC
            "auto_layout",
            {"inputs": [("image", "FP32", [1, 4, 4, 3])], "outputs": [("mean", "FP32", [1, 3])]},
        ),
    ],
)
def test_minimal_config_gets_the_model_files_tensors(
    server: TritonServer, model: str, expected: dict
) -> None:
    raw = httpclient.InferenceServerClient(server.http_url)
    metadata = raw.get_model_metadata(model)
    for kind in ("inputs", "outputs"):
        got = [(t["name"], t["datatype"], t["shape"]) for t in metadata[kind]]
        assert got == expected[kind]


def test_minimal_config_model_serves_batched_requests(client: Client) -> None:
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_allclose(client.infer("auto_batched", {"INPUT/x:0": x})["out.y"], x * 2)
