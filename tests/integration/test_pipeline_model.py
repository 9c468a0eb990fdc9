"""Pipeline models (``--pipeline-model``) served by the real tritonserver answer exactly as
their ensembles."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.utils.shared_memory as shm
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from ovtriton.converter import ConversionOptions, convert
from ovtriton.server.process import MALLOC_TUNING, Ports, TritonServer
from tests.integration.clients import Client
from tests.unit.converter.golden_cases import pipelines
from tests.unit.converter.seed_models import run_seed_in_process, write_seed
from tests.unit.converter.test_input_limit import dynamic_pipeline

pytestmark = pytest.mark.integration

AS_MODEL = {"diamond": "diamond_model", "chain": "chain_model"}
DYNAMIC_LIMIT = 1 << 20
SEED, SEED_MODEL = "image_classification_pipeline", "image_classification_pipeline_model"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pipeline_model")


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[TritonServer]:
    """Each pipeline twice, as its ensemble and as a pipeline model: the golden ``pipelines``
    case and the OVMS seed example's config (stand-in models under ``root/seed``)."""
    config_path = pipelines(root / "ovms")
    config = json.loads(config_path.read_text())
    config["pipeline_config_list"] += [
        {**p, "name": AS_MODEL[p["name"]]} for p in config["pipeline_config_list"]
    ]
    config_path.write_text(json.dumps(config))
    repo = convert(
        config_path,
        root / "repo",
        options=ConversionOptions(pipeline_models=frozenset(AS_MODEL.values())),
    ).out_dir
    assert (repo / "diamond_model" / "1" / "pipeline.json").is_file()
    assert "ensemble" in (repo / "diamond" / "config.pbtxt").read_text()
    seed_config = write_seed(root / "seed")  # the OVMS example's config, stand-in models
    seed = json.loads(seed_config.read_text())
    seed["pipeline_config_list"].append({**seed["pipeline_config_list"][0], "name": SEED_MODEL})
    seed_config.write_text(json.dumps(seed))
    seed_repo = convert(
        seed_config,
        root / "seed_repo",
        options=ConversionOptions(pipeline_models=frozenset({SEED_MODEL})),
    ).out_dir
    # A pipeline model with dynamic inputs: MAX_INPUT_BYTES as every model (issue 19).
    dynamic = dynamic_pipeline(root / "dynamic")
    dynamic_repo = convert(
        dynamic,
        root / "dynamic_repo",
        options=ConversionOptions(pipeline_models=frozenset({"p"}), max_input_bytes=DYNAMIC_LIMIT),
    ).out_dir
    with TritonServer(
        repo,
        ports=Ports.free(),
        extra_args=[f"--model-repository={seed_repo}", f"--model-repository={dynamic_repo}"],
        log_path=root / "tritonserver.log",
    ) as running:
        yield running


def samples(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((1, 4)).astype(np.float32) for _ in range(5)]


def test_every_model_is_ready(server: TritonServer) -> None:
    states = {m.name: (m.state, m.reason) for m in server.models()}
    expected = {"add", "sum", *AS_MODEL, *AS_MODEL.values(), SEED, SEED_MODEL}
    assert expected <= set(states), states
    assert all(states[name][0] == "READY" for name in expected), f"{states}\n{server.log_tail()}"


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_pipeline_model_answers_exactly_as_its_ensemble(
    server: TritonServer, protocol: str
) -> None:
    client = Client(server, protocol, timeout=30)
    for ensemble, as_model in AS_MODEL.items():
        for x in samples(len(ensemble)):
            want = client.infer(ensemble, {"in": x})
            got = client.infer(as_model, {"in": x})
            assert sorted(got) == sorted(want)
            for name in want:
                assert got[name].dtype == want[name].dtype
                np.testing.assert_array_equal(got[name], want[name], err_msg=f"{as_model}.{name}")
    x = samples(0)[0]
    np.testing.assert_array_equal(
        client.infer("diamond_model", {"in": x})["sum"], (x + 1) + (x + 2)
    )
    only = client.infer("diamond_model", {"in": x}, outputs=["left"])
    assert list(only) == ["left"]
    np.testing.assert_array_equal(only["left"], x + 1)


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_the_seed_pipeline_model_answers_as_its_ensemble_and_in_process(
    server: TritonServer, root: Path, protocol: str
) -> None:
    client = Client(server, protocol, timeout=60)
    rng = np.random.default_rng(5)
    for _ in range(3):
        image = rng.random((1, 3, 224, 224), dtype=np.float32) * 255
        want = client.infer(SEED, {"image": image})["label"]
        np.testing.assert_array_equal(client.infer(SEED_MODEL, {"image": image})["label"], want)
        np.testing.assert_array_equal(want, run_seed_in_process(root / "seed", image))


def _shm_infer(server: TritonServer, model: str, x: np.ndarray) -> dict[str, np.ndarray]:
    """Inputs and both outputs ("sum", "left": each shaped like x) in system shared memory."""
    client = grpcclient.InferenceServerClient(server.grpc_url)
    regions = {}
    try:
        for tensor in ("in", "sum", "left"):
            region = f"ovtriton_test_{os.getpid()}_{model}_{tensor}"
            regions[tensor] = (
                region,
                shm.create_shared_memory_region(region, "/" + region, x.nbytes),
            )
            client.register_system_shared_memory(
                region, "/" + region, x.nbytes, headers=server.admin_headers
            )
        shm.set_shared_memory_region(regions["in"][1], [x])
        item = grpcclient.InferInput("in", list(x.shape), np_to_triton_dtype(x.dtype))
        item.set_shared_memory(regions["in"][0], x.nbytes)
        wanted = []
        for name in ("sum", "left"):
            wanted.append(grpcclient.InferRequestedOutput(name))
            wanted[-1].set_shared_memory(regions[name][0], x.nbytes)
        client.infer(model, [item], outputs=wanted, client_timeout=30)
        return {
            name: np.array(shm.get_contents_as_numpy(regions[name][1], x.dtype, list(x.shape)))
            for name in ("sum", "left")
        }
    finally:
        for region, handle in regions.values():
            _unregister(client, server, region)
            shm.destroy_shared_memory_region(handle)
        client.close()


def _unregister(
    client: grpcclient.InferenceServerClient, server: TritonServer, region: str
) -> None:
    """Triton may still hold a region for a moment after answering ("currently in use"):
    poll, with a deadline, until it lets go."""
    deadline = time.monotonic() + 30
    while True:
        try:
            client.unregister_system_shared_memory(region, headers=server.admin_headers)
            return
        except InferenceServerException as error:
            if "currently in use" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(0.05)  # a pause between polls


def test_pipeline_model_over_system_shared_memory(server: TritonServer) -> None:
    for x in samples(7)[:2]:
        want = _shm_infer(server, "diamond", x)
        got = _shm_infer(server, "diamond_model", x)
        for name in want:
            np.testing.assert_array_equal(got[name], want[name])
        np.testing.assert_array_equal(want["sum"], (x + 1) + (x + 2))


def test_per_node_timings_reach_the_metrics_endpoint(server: TritonServer) -> None:
    client = Client(server, "grpc", timeout=30)
    x = samples(3)[0]
    pattern = re.compile(
        r'ovtriton_pipeline_node_executions\{node="(\w+)",pipeline="chain_model",stub_pid="\d+"\} '
        r"(\S+)"
    )
    deadline = time.monotonic() + 60  # sums are sent at most once a second, by a later request
    while True:
        client.infer("chain_model", {"in": x})
        text = urllib.request.urlopen(server.metrics_url, timeout=10).read().decode()
        counts = {m.group(1): float(m.group(2)) for m in pattern.finditer(text)}
        if set(counts) == {"first", "second"} and min(counts.values()) >= 1:
            break
        assert time.monotonic() < deadline, f"the nodes' metrics never arrived: {text[-2000:]}"
        time.sleep(0.1)  # a pause between polls, not a wait for something
    assert re.search(
        r'ovtriton_pipeline_node_duration_us\{node="first",pipeline="chain_model",stub_pid="\d+"\} '
        r"[1-9]",
        text,
    )


def test_tritonserver_runs_with_the_malloc_tuning(server: TritonServer) -> None:
    environ = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0")
    for key, value in MALLOC_TUNING.items():
        assert f"{key}={os.environ.get(key, value)}".encode() in environ


def test_the_pipeline_models_log_their_measured_schedule(server: TritonServer, root: Path) -> None:
    """SCHEDULE is not set: every pipeline model measured its nodes when it loaded."""
    log = (root / "tritonserver.log").read_text(errors="replace")
    for name in (SEED_MODEL, *AS_MODEL.values()):
        found = re.search(rf"pipeline {name}: (measured|even \(.*\)) schedule, (.*)", log)
        assert found is not None, f"no schedule logged for {name}\n{server.log_tail()}"
        assert found.group(1) == "measured", found.group(0)


def test_pipeline_model_refuses_a_request_over_its_max_input_bytes(server: TritonServer) -> None:
    client = grpcclient.InferenceServerClient(server.grpc_url)

    def infer(columns: int) -> np.ndarray:
        x = np.ones((1, columns), np.float32)
        tensor = grpcclient.InferInput("x", list(x.shape), "FP32")
        tensor.set_data_from_numpy(x)
        return client.infer("p", [tensor], client_timeout=60).as_numpy("y")

    np.testing.assert_array_equal(infer(DYNAMIC_LIMIT // 8), np.full((1, DYNAMIC_LIMIT // 8), 2.0))
    with pytest.raises(Exception, match=f"MAX_INPUT_BYTES={DYNAMIC_LIMIT}"):
        infer(DYNAMIC_LIMIT // 4 + 1)  # one value more than the limit holds
