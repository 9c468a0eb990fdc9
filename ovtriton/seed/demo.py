"""The whole seed in one go: build, convert, serve, classify, timeline, metadata.

Steps 1-6 of OVMS's image-classification ensemble example, on Triton: steps 4 (classify) and
6 (metadata) over tritonclient and through the TFS API on OVMS-style ports, as the seed's own
clients run them. Results are handed to ``say`` (the command prints them); progress goes to
logging.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence

import numpy as np

from ovtriton.client import PROTOCOLS, Client, Connection, server_url
from ovtriton.errors import UserError
from ovtriton.seed import client, models, photos, timeline, trace
from ovtriton.seed.ovms_ports import ovms_front
from ovtriton.seed.repository import PIPELINE, model_folders
from ovtriton.seed.stats import Statistics, accuracy
from ovtriton.server.process import Ports, TritonServer
from ovtriton.tfs.client import TfsClient, metadata_lines

if TYPE_CHECKING:
    from ovtriton.converter import ConversionOptions

LOGGER = logging.getLogger(__name__)

PARALLEL_STEPS = ("efficientnet-lite0", "efficientnet-lite1")
TFS = "tfs"  # the TensorFlow Serving API on OVMS's --port, through the front
Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoPaths:
    config: Path  # the OVMS config.json
    output: Path  # converted repository under triton/, the rest under demo/

    @property
    def repository(self) -> Path:
        return self.output / "triton"

    @property
    def work(self) -> Path:
        return self.output / "demo"

    @property
    def photos(self) -> Path:
        return self.work / "photos"

    @property
    def trace_file(self) -> Path:
        return self.work / "trace" / "trace.json"

    @property
    def timeline_text(self) -> Path:
        return self.work / "timeline.txt"

    @property
    def timeline_png(self) -> Path:
        return self.work / "timeline.png"


@dataclass
class DemoResult:
    paths: DemoPaths
    model_files: dict[str, Path] = field(default_factory=dict)
    accuracy: dict[str, float] = field(default_factory=dict)  # protocol -> %
    statistics: dict[str, Statistics] = field(default_factory=dict)
    timelines: list[trace.RequestTimeline] = field(default_factory=list)


def run_demo(
    paths: DemoPaths,
    host: str = "127.0.0.1",
    ports: Optional[Ports] = None,
    extra_args: Sequence[str] = (),
    resize: str = "crop",
    say: Say = print,
    ovms_ports: tuple[Optional[int], Optional[int]] = (None, None),
    options: Optional[ConversionOptions] = None,
) -> DemoResult:
    """``ovms_ports``: the front's gRPC and REST ports (None: free ones); ``options``: the
    conversion's (None: ``convert``'s defaults)."""
    result = DemoResult(paths)
    say(f"== 1. models ({paths.config})")
    result.model_files = models.build_models(model_folders(paths.config))
    images_path, labels_path = photos.write_photos(paths.photos, resize)
    images, labels = np.load(images_path), np.load(labels_path)

    say(f"== 2. convert {paths.config} -> {paths.repository}")
    from ovtriton.converter import ConversionOptions, convert  # protobuf, OpenVINO: only here

    say(
        str(
            convert(
                paths.config, paths.repository, options=options or ConversionOptions(), force=True
            )
        )
    )

    for old in trace.trace_files(paths.trace_file):
        old.unlink()
    paths.trace_file.parent.mkdir(parents=True, exist_ok=True)
    say("== 3. start tritonserver (tracing every request)")
    server = TritonServer(
        paths.repository,
        host=host,
        ports=ports or Ports(),
        extra_args=(*trace.server_args(paths.trace_file), *extra_args),
        workdir=paths.work / "server",
    )
    with server, ovms_front(server, *ovms_ports) as front:
        _check_ready(server)
        say(
            f"tritonserver is up: HTTP {server.http_url}  gRPC {server.grpc_url}  log {server.log_path}"
        )
        say(f"TFS + KServe front on OVMS's ports: --port {front.grpc}  --rest_port {front.rest}")
        sent = 0
        tfs = TfsClient(front.grpc_url)
        connections: list[tuple[str, str, Connection]] = [
            *((p, server_url(server, p), Client(server_url(server, p), p)) for p in PROTOCOLS),
            (TFS, front.grpc_url, tfs),
        ]
        for protocol, url, connection in connections:
            how = "the TFS API, as the seed's client" if protocol == TFS else protocol
            say(f"== 4. classify the photos over {how} ({url})")
            stats, score, count = classify_and_report(
                connection, PIPELINE, images, labels, f"{images_path}", say
            )
            result.statistics[protocol], result.accuracy[protocol] = stats, score
            sent += count
        say(f"== 5. timeline from Triton's trace ({paths.trace_file.parent})")
        result.timelines = wait_for_timelines(paths.trace_file, sent)
        _report_timelines(result.timelines, paths.timeline_text, say)
        say(f"== 6. pipeline metadata over grpc ({server.grpc_url})")
        for line in client.metadata(Client(server.grpc_url, "grpc"), PIPELINE).lines():
            say(line)
        say(f"== 6. pipeline metadata over the TFS API, as the seed's client ({front.grpc_url})")
        for line in metadata_lines(tfs, PIPELINE):
            say(line)
        tfs.close()
    timeline.save_png(result.timelines, paths.timeline_png, f"{PIPELINE}: Triton trace")
    say("tritonserver stopped")
    say(
        f"models:               {', '.join(str(p.parent.parent) for p in result.model_files.values())}"
    )
    say(f"converted repository: {paths.repository}")
    say(f"timeline:             {paths.timeline_png} (text: {paths.timeline_text})")
    return result


def classify_and_report(
    connection: Connection,
    model: str,
    images: np.ndarray,
    labels: Optional[np.ndarray],
    source: str,
    say: Say,
    input_name: str = "image",
    output_name: str = "label",
    batch_size: int = 1,
    iterations: int = 0,
) -> tuple[Statistics, float, int]:
    """The seed client's printout; returns (statistics, accuracy %, requests sent)."""
    say(f"Image data range: {float(images.min())} : {float(images.max())}")
    say("Start processing:")
    say(f"\tModel name: {model}")
    say(f"\tIterations: {iterations if iterations > 0 else len(images) // batch_size}")
    say(f"\tImages numpy path: {source}")
    say(f"\tImages in shape: {images.shape}\n")
    times, correct, checked = [], 0, 0
    for iteration in client.classify(
        connection, model, images, labels, input_name, output_name, batch_size, iterations
    ):
        for line in iteration.lines():
            say(line)
        times.append(iteration.time_ms)
        correct += sum(a.correct for a in iteration.answers)
        checked += sum(a.checked for a in iteration.answers)
    stats = Statistics.of(times, batch_size)
    say("")
    for line in stats.lines():
        say(line)
    score = accuracy(correct, checked)
    if checked:
        say(f"Classification accuracy: {score:.2f}")
    return stats, score, len(times)


def _report_timelines(timelines: list[trace.RequestTimeline], text_file: Path, say: Say) -> None:
    text = timeline.text(timelines, PARALLEL_STEPS)
    text_file.write_text(text, encoding="utf-8")
    say(text.rstrip())
    parallel = sum(t.overlap_ns(*PARALLEL_STEPS) > 0 for t in timelines)
    say(f"{parallel} of {len(timelines)} requests ran {' and '.join(PARALLEL_STEPS)} in parallel")


def wait_for_timelines(
    trace_file: Path, expected: int, timeout: float = 20.0
) -> list[trace.RequestTimeline]:
    """The pipeline's timelines once Triton has written ``expected`` complete ones."""
    deadline = time.monotonic() + timeout
    while True:
        found = [
            t
            for t in trace.timelines(trace.load_spans(trace.trace_files(trace_file)), PIPELINE)
            if _complete(t)
        ]
        if len(found) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if len(found) < expected:
        LOGGER.warning("only %d of %d requests traced in %s", len(found), expected, trace_file)
    if not found:
        raise UserError(f"Triton wrote no complete trace of {PIPELINE} to {trace_file.parent}")
    return found


def _complete(timeline_: trace.RequestTimeline) -> bool:
    spans = (timeline_.root, *timeline_.steps)
    return all("REQUEST_END" in s.timestamps for s in spans) and {
        s.model for s in timeline_.steps
    } >= set(PARALLEL_STEPS) | {models.ARGMAX}


def _check_ready(server: TritonServer) -> None:
    broken = [m for m in server.models() if m.state != "READY"]
    if broken or not server.is_ready():
        details = "\n".join(f"  {m.name}: {m.state} {m.reason}" for m in broken)
        raise UserError(f"the seed's models did not all load:\n{details}\n{server.log_tail()}")
