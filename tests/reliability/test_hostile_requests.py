"""Issue 19's hostile requests against `ovtriton serve --config_path … --port … --rest_port …`
with the HTTP guard on Triton's HTTP port, a healthy client running beside every probe.

Each probe must get a clear error, the service must stay up with 0 failed healthy requests,
and serve's memory (the front runs in it) must stay within a generous bound.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

import grpc
import numpy as np
import psutil
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

from ovtriton.server.process import Ports
from ovtriton.tfs import protos
from ovtriton.tfs.tensors import DATA_TYPE
from tests.models import save, scale_model

pytestmark = pytest.mark.integration

INPUT = "INPUT/x:0"
LIMIT = 8 << 20  # --max-input-bytes: MAX_INPUT_BYTES of the dynamic model
BUDGET = 12 << 20  # --max-inflight-bytes
RSS_BOUND = 200 << 20
SHAPE_BOMB = (
    b'{"inputs": [{"name": "INPUT/x:0", "shape": [1, 1099511627776], "datatype": "FP32", '
    b'"data": [1, 2, 3, 4]}]}'
)


class Served:
    def __init__(self, process: subprocess.Popen, triton: Ports, ovms: Ports) -> None:
        self.process = process
        self.triton = triton
        self.grpc = f"127.0.0.1:{ovms.grpc}"
        self.rest = f"127.0.0.1:{ovms.http}"
        self.guarded = f"127.0.0.1:{triton.http}"  # Triton's HTTP port: the guard answers

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)


def wait_for(log: Path, marker: str, process: subprocess.Popen, limit: float = 240) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if marker in text:
            return
        assert process.poll() is None, text[-4000:]
        time.sleep(0.2)
    raise AssertionError(f"{marker!r} not logged within {limit} s")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("hostile")
    save(scale_model((1, 4)), folder / "models" / "scale" / "1")
    save(scale_model((-1, -1)), folder / "models" / "dyn" / "1")
    config = folder / "config.json"
    config.write_text(
        json.dumps(
            {
                "model_config_list": [
                    {"config": {"name": n, "base_path": f"models/{n}"}} for n in ("scale", "dyn")
                ]
            }
        )
    )
    triton, ovms = Ports.free(), Ports.free()
    log = folder / "serve.log"
    command = [
        sys.executable, "-m", "ovtriton", "serve",
        "--config_path", str(config), "--port", str(ovms.grpc), "--rest_port", str(ovms.http),
        *triton.flags(), "--workdir", str(folder / "work"), "--http-guard", "on",
        "--max-input-bytes", str(LIMIT), "--max-inflight-bytes", str(BUDGET),
        "--inflight-wait", "0",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(log, "Press Ctrl-C to stop", process)
        assert "(guarded)" in log.read_text()
        yield Served(process, triton, ovms)
    finally:
        process.terminate()
        process.wait(timeout=60)


class Healthy:
    """Good requests in a loop (gRPC to Triton, HTTP through the guard) while a probe runs."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.ok = 0
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        grpc_client = grpcclient.InferenceServerClient(f"127.0.0.1:{self.served.triton.grpc}")
        http_client = httpclient.InferenceServerClient(self.served.guarded, network_timeout=60)
        x = np.arange(4, dtype=np.float32).reshape(1, 4)
        for _ in range(100_000):  # bounded; stopped by the probe's end
            if self._stop.is_set():
                return
            for module, client in ((grpcclient, grpc_client), (httpclient, http_client)):
                tensor = module.InferInput(INPUT, [1, 4], "FP32")
                tensor.set_data_from_numpy(x)
                try:
                    y = client.infer("scale", [tensor]).as_numpy("out.y")
                    assert np.array_equal(y, x * 2)
                    self.ok += 1
                except Exception as error:  # counted: the test asserts there are none
                    self.failed.append(f"{module.__name__}: {error}")

    def __enter__(self) -> "Healthy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop once two more healthy requests were answered after the probe."""
        target = self.ok + 2
        deadline = time.monotonic() + 120
        while self.ok < target and not self.failed and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        self._thread.join(timeout=120)


def post(url: str, body: bytes, headers: Optional[dict[str, str]] = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, answer.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def still_serving(served: Served, healthy: Healthy) -> None:
    assert served.process.poll() is None
    assert healthy.ok > 0 and healthy.failed == [], healthy.failed[:3]
    with urllib.request.urlopen(f"http://{served.guarded}/v2/health/ready", timeout=30) as ready:
        assert ready.status == 200


@pytest.mark.parametrize("port", ["front", "guard"])
def test_shape_bomb_and_deep_json_get_400_and_the_server_stays_up(
    served: Served, port: str
) -> None:
    base = served.rest if port == "front" else served.guarded
    deep = b"[" * 50_000 + b"]" * 50_000
    with Healthy(served) as healthy:
        status, text = post(f"http://{base}/v2/models/scale/infer", SHAPE_BOMB)
        assert status == 400 and "declares 1099511627776 elements" in text, (status, text)
        paths = ["/v2/models/scale/infer", "/v2/repository/index"]
        if port == "front":
            paths.append("/v1/models/dyn:predict")  # TFS REST: checked before json.loads
        for path in paths:
            status, text = post(f"http://{base}{path}", deep)
            assert status == 400 and "nests deeper than 64" in text, (path, status, text)
        # 4.3 MB of valid JSON sent as a form (urllib's default type, curl -d's): tritonserver
        # 2.51 parses form bodies and segfaults on ~4.19 MB; the guard forwards no form type.
        values = [1] * 1_433_600  # "1, " each
        big = {
            "inputs": [
                {"name": INPUT, "shape": [1, len(values)], "datatype": "FP32", "data": values}
            ]
        }
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        status, text = post(f"http://{base}/v2/models/dyn/infer", json.dumps(big).encode(), form)
        assert status == 200 and json.loads(text)["outputs"][0]["shape"] == [1, len(values)]
    still_serving(served, healthy)


def test_gzip_bomb_gets_413_everywhere(served: Served) -> None:
    bomb = gzip.compress(b"0" * (17 << 20), 9)
    assert len(bomb) < 20_000
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    before = served.rss()
    with Healthy(served) as healthy:
        for url in (
            f"http://{served.rest}/v1/models/dyn:predict",
            f"http://{served.rest}/v2/models/dyn/infer",
            f"http://{served.guarded}/v2/models/dyn/infer",
        ):
            status, text = post(url, bomb, headers)
            assert status == 413 and "inflates past" in text, (url, status, text)
    still_serving(served, healthy)
    assert served.rss() - before < RSS_BOUND


def _fill(dtype: str, field: str, value: object, shape: list[int]) -> object:
    request = protos.PredictRequest()
    request.model_spec.name = "dyn"
    tensor = request.inputs[INPUT]
    tensor.dtype = DATA_TYPE.values_by_name[dtype].number
    tensor.tensor_shape.dim.extend(protos.TensorShapeProto.Dim(size=s) for s in shape)
    getattr(tensor, field).append(value)
    return request


def test_tiny_fills_get_invalid_argument_and_memory_stays_bounded(served: Served) -> None:
    channel = grpc.insecure_channel(served.grpc)
    predict = channel.unary_unary(
        "/tensorflow.serving.PredictionService/Predict",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=protos.PredictResponse.FromString,
    )
    probes = {
        "string fill": _fill("DT_STRING", "string_val", b"a", [16777216]),
        "float fill": _fill("DT_FLOAT", "float_val", 1.0, [1, 1 << 26]),
        "dynamic shape": _fill("DT_FLOAT", "float_val", 1.0, [-1, -1]),
    }
    before = served.rss()
    with Healthy(served) as healthy:
        for what, request in probes.items():
            assert len(request.inputs[INPUT].SerializeToString()) < 40, what
            with pytest.raises(grpc.RpcError) as refused:
                predict(request, timeout=120)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, what
    still_serving(served, healthy)
    assert served.rss() - before < RSS_BOUND


def test_concurrent_large_requests_get_resource_exhausted_and_memory_stays_bounded(
    served: Served,
) -> None:
    x = np.ones((1, (6 << 20) // 4), np.float32)  # 6 MiB each, 12 MiB in flight at most
    barrier = threading.Barrier(8)

    def one(_: int) -> str:
        client = grpcclient.InferenceServerClient(served.grpc)  # the front's KServe gRPC
        tensor = grpcclient.InferInput(INPUT, list(x.shape), "FP32")
        tensor.set_data_from_numpy(x)
        barrier.wait(timeout=60)
        try:
            client.infer("dyn", [tensor], client_timeout=120)
            return "ok"
        except Exception as error:
            return getattr(error, "status", lambda: "?")() or repr(error)

    params = {"binary_data_size": x.nbytes}
    header = json.dumps(
        {
            "inputs": [
                {"name": INPUT, "shape": list(x.shape), "datatype": "FP32", "parameters": params}
            ]
        }
    ).encode()  # the binary data extension: 6 MiB after the JSON header
    binary = {"Inference-Header-Content-Length": str(len(header))}
    http_barrier = threading.Barrier(8)

    def one_http(_: int) -> str:
        http_barrier.wait(timeout=60)
        url = f"http://{served.guarded}/v2/models/dyn/infer"
        return str(post(url, header + x.tobytes(), binary)[0])

    before = served.rss()
    with Healthy(served) as healthy:
        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(one, range(8)))
            statuses = list(pool.map(one_http, range(8)))
    still_serving(served, healthy)
    assert set(outcomes) <= {"ok", "StatusCode.RESOURCE_EXHAUSTED"}, outcomes
    assert "ok" in outcomes and "StatusCode.RESOURCE_EXHAUSTED" in outcomes, outcomes
    assert set(statuses) <= {"200", "429"} and {"200", "429"} <= set(statuses), statuses
    assert served.rss() - before < RSS_BOUND


def counted(url: str, interface: str, reason: str) -> float:
    with urllib.request.urlopen(url, timeout=30) as answer:
        text = answer.read().decode()
    line = f'ovtriton_front_requests_refused_total{{interface="{interface}",reason="{reason}"}}'
    rows = [row for row in text.splitlines() if row.startswith(line)]
    return float(rows[0].split()[-1]) if rows else 0.0


def test_refusals_are_counted_by_reason_with_triton_own(served: Served) -> None:
    wrong = json.dumps(
        {"inputs": [{"name": INPUT, "shape": [1, 5], "datatype": "FP32", "data": [1] * 5}]}
    ).encode()
    front_metrics = f"http://{served.rest}/metrics"
    for base, interface in ((served.rest, "REST /v2"), (served.guarded, "HTTP guard")):
        before = {
            reason: counted(front_metrics, interface, reason)
            for reason in ("shape_exceeds_data", "triton_400")
        }
        assert post(f"http://{base}/v2/models/scale/infer", SHAPE_BOMB)[0] == 400  # the guard's
        assert post(f"http://{base}/v2/models/scale/infer", wrong)[0] == 400  # Triton's own
        for reason, count in before.items():
            assert counted(front_metrics, interface, reason) == count + 1, (interface, reason)
    # The guard's port serves its own counts too (the image has no front).
    assert counted(f"http://{served.guarded}/metrics", "HTTP guard", "triton_400") >= 1
