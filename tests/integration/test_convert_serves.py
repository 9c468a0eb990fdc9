"""`ovtriton convert` output loads in the real tritonserver and answers like OVMS would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import pytest
from ovtriton.converter import convert
from tritonclient import grpc, http
from tritonclient.utils import InferenceServerException

from ovtriton.client import server_url
from ovtriton.server.process import Ports, TritonServer
from tests.unit.converter.golden_cases import CASES
from tests.unit.converter.seed_models import run_seed_in_process

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TritonServer, dict[str, Path]]]:
    """Every golden case converted into its own repository, all served by one tritonserver."""
    root = tmp_path_factory.mktemp("convert_serves")
    roots, repos = {}, []
    for case, build in CASES.items():
        roots[case] = root / case / "ovms"
        repos.append(convert(build(roots[case]), root / case / "repo").out_dir)
    extra = [f"--model-repository={repo}" for repo in repos[1:]]
    with TritonServer(
        repos[0], ports=Ports.free(), extra_args=extra, log_path=root / "tritonserver.log"
    ) as server:
        yield server, roots


def _infer(server: TritonServer, model: str, inputs: dict[str, np.ndarray]) -> http.InferResult:
    client = http.InferenceServerClient(server.http_url)
    tensors = []
    for name, array in inputs.items():
        tensor = http.InferInput(name, list(array.shape), http.np_to_triton_dtype(array.dtype))
        tensor.set_data_from_numpy(array)
        tensors.append(tensor)
    return client.infer(model, tensors)


def test_converted_repositories_load_every_model(
    served: tuple[TritonServer, dict[str, Path]],
) -> None:
    server, _ = served
    states = {(m.name, m.version): (m.state, m.reason) for m in server.models()}
    not_ready = {key: value for key, value in states.items() if value[0] != "READY"}
    assert not not_ready, f"{not_ready}\n{server.log_tail()}"
    ready = {name for name, _ in states}
    assert {
        "image_classification_pipeline",
        "diamond",
        "chain",
        "range_batch",
        "nhwc",
        "echo",
        "laid_shape",
        "laid_chain",
        "scalar",
        "scalar_chain",
        "strings",
        "count_words",
        "ranged_chain",
    } <= ready
    assert {"copies", "_ovtriton_identity_fp32_1d", "_ovtriton_identity_fp32_2d"} <= ready
    assert {v for n, v in states if n == "all_versions"} == {"1", "2", "3"}
    assert {v for n, v in states if n == "specific"} == {"1", "3"}


def test_seed_pipeline_answers_like_the_models_run_in_process(
    served: tuple[TritonServer, dict[str, Path]],
) -> None:
    server, roots = served
    rng = np.random.default_rng(0)
    for _ in range(5):
        image = rng.random((1, 3, 224, 224), dtype=np.float32) * 255
        label = _infer(server, "image_classification_pipeline", {"image": image}).as_numpy("label")
        expected = run_seed_in_process(roots["seed"], image)
        assert label.dtype == np.int64 and label.shape == (1,)
        np.testing.assert_array_equal(label, expected)


def test_diamond_pipeline_runs_both_versions_and_exposes_two_outputs(
    served: tuple[TritonServer, dict[str, Path]],
) -> None:
    server, _ = served
    x = np.arange(4, dtype=np.float32).reshape(1, 4)
    result = _infer(server, "diamond", {"in": x})
    np.testing.assert_allclose(result.as_numpy("left"), x + 1)  # version 1 adds 1
    np.testing.assert_allclose(result.as_numpy("sum"), (x + 1) + (x + 2))  # version 2 adds 2
    # nodes without "version" use the highest version (2), like OVMS
    np.testing.assert_allclose(_infer(server, "chain", {"in": x}).as_numpy("out"), x + 4)


def test_converted_models_keep_ovms_request_shapes(
    served: tuple[TritonServer, dict[str, Path]],
) -> None:
    server, _ = served
    batch = np.ones((3, 4), dtype=np.float32)
    np.testing.assert_allclose(_infer(server, "range_batch", {"x": batch}).as_numpy("y"), batch + 1)
    np.testing.assert_allclose(
        _infer(server, "fixed_batch", {"x": np.ones((4, 4), np.float32)}).as_numpy("y"), 2
    )
    nhwc = np.random.default_rng(1).random((1, 8, 8, 3), dtype=np.float32)
    features = _infer(server, "nhwc", {"image": nhwc}).as_numpy("features")
    np.testing.assert_allclose(features, nhwc.mean(axis=(1, 2)), rtol=1e-5)
    renamed = _infer(server, "renamed", {"pixels": np.zeros((2, 4), np.float32)}).as_numpy("scores")
    np.testing.assert_allclose(renamed, 1)


def test_passthrough_outputs_equal_the_request_input_and_the_copied_output(
    served: tuple[TritonServer, dict[str, Path]],
) -> None:
    server, _ = served
    x = np.arange(4, dtype=np.float32).reshape(1, 4)
    result = _infer(server, "copies", {"in": x})
    np.testing.assert_array_equal(result.as_numpy("original"), x)
    np.testing.assert_allclose(result.as_numpy("result"), x + 1)
    np.testing.assert_array_equal(result.as_numpy("result_again"), result.as_numpy("result"))
    vector = np.array([3.5, -1.0, 0.0, 7.25, 2.0], dtype=np.float32)  # no model node at all
    np.testing.assert_array_equal(_infer(server, "echo", {"in": vector}).as_numpy("echoed"), vector)


def _run_original(model_xml: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The model file as it is on disk (NCHW), run in-process by OpenVINO, reshaped to fit."""
    core = ov.Core()
    model = core.read_model(str(model_xml))
    model.reshape({name: list(array.shape) for name, array in inputs.items()})
    return next(iter(core.compile_model(model, "CPU")(inputs).values()))


def test_layout_is_applied_before_shape_as_ovms_does(
    served: tuple[TritonServer, dict[str, Path]],
) -> None:
    """shape (1,2,4,3) + layout NHWC:NCHW takes NHWC [1,2,4,3] requests (OVMS's order)."""
    server, roots = served
    root = roots["layouts"]
    nhwc = np.random.default_rng(2).random((1, 2, 4, 3), dtype=np.float32)
    served_features = _infer(server, "laid_shape", {"image": nhwc}).as_numpy("features")
    expected = _run_original(
        root / "img" / "1" / "model.xml", {"image": nhwc.transpose(0, 3, 1, 2)}
    )
    np.testing.assert_allclose(served_features, expected, rtol=1e-6)
    with pytest.raises(InferenceServerException, match=r"\[1,2,4,3\]"):
        _infer(server, "laid_shape", {"image": nhwc.transpose(0, 3, 1, 2).copy()})  # NCHW


def test_pipeline_from_a_transposing_model_into_an_nchw_model_serves(
    served: tuple[TritonServer, dict[str, Path]],
) -> None:
    """laid_add (shape (1,8,8,3), NHWC:NCHW) gives NCHW [1,3,8,8] that features takes."""
    server, roots = served
    root = roots["layouts"]
    nhwc = np.random.default_rng(3).random((1, 8, 8, 3), dtype=np.float32)
    out = _infer(server, "laid_chain", {"in": nhwc}).as_numpy("out")
    added = _run_original(root / "add" / "1" / "model.xml", {"x": nhwc.transpose(0, 3, 1, 2)})
    expected = _run_original(root / "img" / "1" / "model.xml", {"image": added})
    np.testing.assert_allclose(out, expected, rtol=1e-6)


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_scalars_are_served_as_one_element_tensors(
    served: tuple[TritonServer, dict[str, Path]], protocol: str
) -> None:
    """Triton 2.51 has no 0-d tensors: a scalar is sent and answered as [1]; the model (and a
    pipeline of two) computes on its scalar as OpenVINO does in-process."""
    server, roots = served
    xml = roots["scalars"] / "scalar" / "1" / "model.xml"
    module = grpc if protocol == "grpc" else http
    client = module.InferenceServerClient(server_url(server, protocol))

    def infer(model: str, name: str, value: np.ndarray) -> Any:
        tensor = module.InferInput(name, list(value.shape), "FP32")
        tensor.set_data_from_numpy(value)
        return client.infer(model, [tensor])

    x = np.array([2.5], np.float32)
    once = _run_original(xml, {"x": x.reshape(())})
    assert once.shape == ()
    served_once = infer("scalar", "x", x).as_numpy("y")
    assert served_once.shape == (1,)
    np.testing.assert_array_equal(served_once, once.reshape(1))
    twice = _run_original(xml, {"x": once})
    np.testing.assert_array_equal(infer("scalar_chain", "in", x).as_numpy("out"), twice.reshape(1))
    with pytest.raises(InferenceServerException, match=r"Expected \[1\], got \[\]"):
        infer("scalar", "x", x.reshape(()))  # OVMS's spelling of a scalar request


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_string_tensors_are_served_as_triton_bytes(
    served: tuple[TritonServer, dict[str, Path]], protocol: str
) -> None:
    """An OpenVINO string model (and a pipeline around it) answers BYTES equal to OpenVINO."""
    server, roots = served
    module = grpc if protocol == "grpc" else http
    client = module.InferenceServerClient(server_url(server, protocol))
    words = np.array(["añb".encode(), b"", b"two words", b"x" * 300], dtype=np.object_)
    core = ov.Core()
    compiled = core.compile_model(str(roots["strings"] / "str" / "1" / "model.xml"), "CPU")
    reference = {p.get_any_name(): v for p, v in compiled(np.array(words.tolist())).items()}
    for model, name, outputs in (
        ("strings", "text", ("rows", "count")),
        ("count_words", "words", ("rows", "n")),
    ):
        tensor = module.InferInput(name, [len(words)], "BYTES")
        tensor.set_data_from_numpy(words)
        result = client.infer(model, [tensor])
        rows, count = (result.as_numpy(o) for o in outputs)
        expected = [str(text).encode() for text in reference["rows"][:, 0]]  # OpenVINO decodes
        assert rows.shape == (4, 1) and rows[:, 0].tolist() == expected == words.tolist()
        np.testing.assert_array_equal(count, reference["count"])
        if model == "count_words":
            assert result.as_numpy("echo").tolist() == words.tolist()


def test_overlapping_ranges_serve_and_the_backend_refuses_sizes_outside_them(
    served: tuple[TritonServer, dict[str, Path]],
) -> None:
    """early (1,1:20) feeds late (1,15:30): 16 fits both; 10 fits early only."""
    server, roots = served
    xml = roots["ranges"] / "vec" / "1" / "model.xml"
    x = np.arange(16, dtype=np.float32).reshape(1, 16)
    expected = _run_original(xml, {"x": _run_original(xml, {"x": x})})
    np.testing.assert_array_equal(
        _infer(server, "ranged_chain", {"in": x}).as_numpy("out"), expected
    )
    with pytest.raises(InferenceServerException, match=r"expected shape \[1,15:30\], got \[1,10\]"):
        _infer(server, "ranged_chain", {"in": np.ones((1, 10), np.float32)})
