"""The seed end to end: `ovtriton demo` with real models and photos, then the served pipeline
checked against the reference results and against the three models run in-process.

Nothing here is skipped: if the models cannot be built (wheels missing), the demo fails.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import openvino as ov
import pytest

from ovtriton.cli import main
from ovtriton.seed import photos, trace
from ovtriton.seed.demo import PARALLEL_STEPS, DemoPaths
from ovtriton.seed.repository import PIPELINE
from ovtriton.server.process import Ports, TritonServer
from tests.integration.clients import Client

pytestmark = pytest.mark.integration

REPOSITORY = Path(__file__).resolve().parents[2] / "model_repository"
# Top-1 of both classifiers and of the ensemble, whatever the resize (reference notes, §5).
ROBUST = {"chelsea": {281, 282, 285}, "coffee": {967}, "motorcycle": {665, 670}, "camera": {872}}
# Right only with one resize; the true class is still in each model's top 5 with both.
RESIZE_DEPENDENT = {"rocket": ("crop", 657), "grace_hopper": ("squash", 652)}


@dataclass(frozen=True)
class DemoRun:
    code: int
    output: str
    paths: DemoPaths
    ovms_ports: tuple[int, int]  # the front's --port, --rest_port


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """`ovtriton demo` with the shipped seed repository, run from an unrelated folder."""
    out = tmp_path_factory.mktemp("seed") / "out"
    elsewhere = tmp_path_factory.mktemp("cwd")
    ports, spare = Ports.free(), Ports.free()
    ovms_ports = (spare.http, spare.grpc)
    argv = ["demo", "--workdir", str(out), *ports.flags()]
    argv += ["--port", str(ovms_ports[0]), "--rest_port", str(ovms_ports[1])]
    before, stdout = Path.cwd(), io.StringIO()
    os.chdir(elsewhere)
    try:
        with contextlib.redirect_stdout(stdout):
            code = main(argv)
    finally:
        os.chdir(before)
    print(stdout.getvalue())
    return DemoRun(
        code,
        stdout.getvalue(),
        DemoPaths(out / "model_repository" / "config.json", out),
        ovms_ports,
    )


@pytest.fixture(scope="module")
def server(demo: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TritonServer]:
    """The repository the demo converted, served again for the checks below."""
    assert demo.code == 0, demo.output
    with TritonServer(
        demo.paths.repository, ports=Ports.free(), workdir=tmp_path_factory.mktemp("server")
    ) as running:
        yield running


@pytest.fixture(scope="module")
def compiled(demo: DemoRun) -> dict[str, ov.CompiledModel]:
    """The three built IRs, compiled in this process."""
    base = demo.paths.config.parent
    core = ov.Core()
    return {
        n: core.compile_model(str(base / n / "1" / "model.xml"), "CPU")
        for n in ("efficientnet-lite0", "efficientnet-lite1", "argmax")
    }


def test_demo_runs_every_step_and_says_where_it_put_things(demo: DemoRun) -> None:
    assert demo.code == 0, demo.output
    for step in (
        "== 1. models",
        "== 2. convert",
        "== 3. start tritonserver",
        "== 4. classify the photos over grpc",
        "== 4. classify the photos over http",
        "== 4. classify the photos over the TFS API, as the seed's client",
        "== 5. timeline",
        "== 6. pipeline metadata over grpc",
        "== 6. pipeline metadata over the TFS API, as the seed's client",
        "tritonserver stopped",
    ):
        assert step in demo.output
    grpc_port, rest_port = demo.ovms_ports
    assert f"front on OVMS's ports: --port {grpc_port}  --rest_port {rest_port}" in demo.output
    assert f"over the TFS API, as the seed's client (127.0.0.1:{grpc_port})" in demo.output
    for name in ("efficientnet-lite0", "efficientnet-lite1", "argmax"):
        assert (demo.paths.config.parent / name / "1" / "model.bin").is_file()
    assert f"converted repository: {demo.paths.repository}" in demo.output
    assert f"timeline:             {demo.paths.timeline_png}" in demo.output
    assert demo.paths.timeline_png.read_bytes()[:4] == b"\x89PNG"
    assert demo.paths.timeline_text.read_text().startswith("request 1 ")


def test_committed_config_pbtxt_files_are_what_the_converter_writes(
    demo: DemoRun, tmp_path: Path
) -> None:
    """model_repository/ is `ovtriton convert config.json --cores 0`'s output (weights aside;
    no thread budgets, so the files do not depend on the converting machine's cores)."""
    from ovtriton.converter import ConversionOptions, convert

    assert demo.code == 0, demo.output  # the demo built the models beside its config copy
    options = ConversionOptions(cores=0)
    repository = convert(demo.paths.config, tmp_path / "repo", options=options).out_dir
    converted = sorted(p.parent.name for p in repository.glob("*/config.pbtxt"))
    committed = sorted(p.parent.name for p in REPOSITORY.glob("*/config.pbtxt"))
    assert converted == committed
    for name in committed:
        assert (repository / name / "config.pbtxt").read_text() == (
            REPOSITORY / name / "config.pbtxt"
        ).read_text(), f"model_repository/{name}/config.pbtxt differs from `ovtriton convert`'s"
    # the demo converts like `convert` does by default: this machine's cores (auto)
    budgets = [
        (demo.paths.repository / name / "config.pbtxt").read_text().count("INFERENCE_NUM_THREADS")
        for name in PARALLEL_STEPS
    ]
    assert budgets == [1, 1]


def test_the_seed_repository_with_its_weights_built_serves_as_it_is(
    demo: DemoRun, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The shipped model_repository/ (config.json beside the models) is what tritonserver loads."""
    assert demo.code == 0, demo.output
    repository = demo.paths.config.parent  # the shipped files + the weights the demo built
    with TritonServer(
        repository, ports=Ports.free(), workdir=tmp_path_factory.mktemp("as_is")
    ) as running:
        assert {m.name: m.state for m in running.models()} == {
            name: "READY" for name in (*PARALLEL_STEPS, "argmax", PIPELINE)
        }
        images, _ = photos.photo_batch("crop")
        label = Client(running, "grpc").infer(PIPELINE, {"image": images[:1]})["label"]
    assert photos.PHOTOS[0].name == "chelsea" and int(label[0]) in ROBUST["chelsea"]


def test_demo_prints_the_seed_statistics_with_the_reference_accuracy(demo: DemoRun) -> None:
    # Crop resize: 5 of 6 right, grace_hopper answered "academic gown" (reference §5);
    # the same over tritonclient's gRPC and HTTP and over the TFS API.
    assert demo.output.count("Classification accuracy: 83.33") == 3
    assert demo.output.count("; Correct match.") == 15
    assert (
        demo.output.count(
            "academic gown, academic robe, judge's robe 400 ; Incorrect match. "
            "Should be 652 military uniform"
        )
        == 3
    )
    for line in (
        "average time:",
        "median time:",
        "max time:",
        "min time:",
        "time percentile 90:",
        "time percentile 50:",
        "time standard deviation:",
        "time variance:",
    ):
        assert demo.output.count(line) == 3


def test_demo_shows_the_pipeline_metadata(demo: DemoRun) -> None:
    assert (
        "Getting model metadata for model: image_classification_pipeline\nInputs metadata:\n"
        "\tInput name: image; shape: [1, 3, 224, 224]; dtype: FP32\nOutputs metadata:\n"
        "\tOutput name: label; shape: [1]; dtype: INT64"
    ) in demo.output
    # As the seed's get_serving_meta.py prints it, over the TFS API on OVMS's --port.
    assert (
        "Getting model metadata for model: image_classification_pipeline\nInputs metadata:\n"
        "\tInput name: image; shape: [1, 3, 224, 224]; dtype: DT_FLOAT\nOutputs metadata:\n"
        "\tOutput name: label; shape: [1]; dtype: DT_INT64"
    ) in demo.output


def test_the_two_classifier_steps_overlap_in_tritons_trace(demo: DemoRun) -> None:
    spans = trace.load_spans(trace.trace_files(demo.paths.trace_file))
    timelines = trace.timelines(spans, PIPELINE)
    assert len(timelines) == 18  # 6 photos over gRPC, HTTP and the TFS API
    for t in timelines:
        lite0, lite1 = (t.step(m).compute for m in PARALLEL_STEPS)
        assert max(lite0[0], lite1[0]) < min(lite0[1], lite1[1]), f"trace {t.root.trace_id}: {t}"
        assert t.step("argmax").compute[0] >= min(lite0[1], lite1[1])  # argmax waits for inputs
    assert (
        "18 of 18 requests ran efficientnet-lite0 and efficientnet-lite1 in parallel" in demo.output
    )


@pytest.mark.parametrize("resize", photos.RESIZE_METHODS)
@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_served_pipeline_equals_the_three_models_run_in_process(
    server: TritonServer, compiled: dict[str, ov.CompiledModel], resize: str, protocol: str
) -> None:
    client = Client(server, protocol)
    images, _ = photos.photo_batch(resize)
    for photo, image in zip(photos.PHOTOS, images):
        x = image[None]
        lite0 = compiled["efficientnet-lite0"](x)[0]
        lite1 = compiled["efficientnet-lite1"](x)[0]
        expected = compiled["argmax"]([lite0, lite1])[0]
        served = client.infer(PIPELINE, {"image": x})["label"]
        assert served.tolist() == expected.tolist() == [int(np.argmax(lite0 + lite1))], photo.name
        for name, local in (("efficientnet-lite0", lite0), ("efficientnet-lite1", lite1)):
            remote = client.infer(name, {"input": x})["prob"]
            np.testing.assert_allclose(remote, local, atol=1e-5, err_msg=f"{name} {photo.name}")


@pytest.mark.parametrize("resize", photos.RESIZE_METHODS)
def test_served_models_classify_the_photos_as_the_reference_says(
    server: TritonServer, resize: str
) -> None:
    client = Client(server, "grpc")
    images, _ = photos.photo_batch(resize)
    right = 0
    for photo, image in zip(photos.PHOTOS, images):
        label = int(client.infer(PIPELINE, {"image": image[None]})["label"][0])
        right += label in photo.labels
        top5 = {
            m: set(np.argsort(-client.infer(m, {"input": image[None]})["prob"][0])[:5].tolist())
            for m in PARALLEL_STEPS
        }
        if photo.name in ROBUST:
            assert label in ROBUST[photo.name], photo.name
            for m in PARALLEL_STEPS:
                top1 = int(client.infer(m, {"input": image[None]})["prob"][0].argmax())
                assert top1 in ROBUST[photo.name], f"{m} {photo.name}"
        else:
            good_resize, true_class = RESIZE_DEPENDENT[photo.name]
            assert (label == true_class) == (resize == good_resize), f"{photo.name} -> {label}"
            assert all(true_class in top5[m] for m in PARALLEL_STEPS), f"{photo.name} {top5}"
    assert right == 5  # 83.33 % with either resize


def test_infer_and_metadata_commands_talk_to_the_server(
    server: TritonServer, demo: DemoRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "infer",
                PIPELINE,
                "--protocol",
                "http",
                "--url",
                server.http_url,
                "--images",
                str(demo.paths.photos),
                "--labels",
                str(demo.paths.photos / "lbs.npy"),
                "--iterations",
                "8",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.count("Iteration ") == 8 and "Images in shape: (6, 3, 224, 224)" in out
    assert "Classification accuracy: 87.50" in out  # 5 of the 6 photos, then chelsea, coffee again
    assert (
        main(
            [
                "infer",
                "efficientnet-lite1",  # input and output names from its metadata
                "--url",
                server.grpc_url,
                "--images",
                str(demo.paths.photos / "imgs.npy"),
                "--labels",
                str(demo.paths.photos / "lbs.npy"),
            ]
        )
        == 0
    )
    assert "Classification accuracy: 83.33" in capsys.readouterr().out
    assert main(["metadata", "efficientnet-lite0", "--url", server.grpc_url]) == 0
    assert "\tOutput name: prob; shape: [1, 1000]; dtype: FP32" in capsys.readouterr().out
    assert main(["metadata", "nope", "--url", server.grpc_url]) == 1


@pytest.mark.parametrize(
    "port, protocol, says",
    [
        ("grpc", "http", "is an HTTP/2 server (a gRPC port), not a KServe v2 http endpoint"),
        ("metrics", "http", "is Triton's metrics port (Prometheus text on /metrics)"),
        ("metrics", "grpc", "is Triton's metrics port (Prometheus text on /metrics)"),
        ("http", "grpc", "is a KServe v2 HTTP server"),
    ],
)
def test_infer_and_metadata_at_the_wrong_kind_of_triton_port_say_what_answered(
    server: TritonServer, port: str, protocol: str, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"127.0.0.1:{getattr(server.ports, port)}"
    for command in (["metadata", PIPELINE], ["infer", PIPELINE, "--iterations", "1"]):
        caplog.clear()
        assert main([*command, "--url", url, "--protocol", protocol]) == 1
        errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1 and f"{url} {says}" in errors[0], errors
        assert "\n" not in errors[0] and "Traceback" not in caplog.text
