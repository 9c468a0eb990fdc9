"""Cold start of one repository from a local folder vs from the S3 server, interleaved.

Each run starts a fresh tritonserver the way ``serve`` does and times it from the start until
every model is READY (``/v2/health/ready``); local and S3 runs alternate so a machine whose load
drifts affects both alike. The report gives each side's median, minimum and maximum seconds and
the ratio of the medians (the target: S3 <= 1.25 x local).
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from pathlib import Path
from typing import Any, Union

from ovtriton.cluster.bucket import upload_tree
from ovtriton.errors import UserError
from ovtriton.server.remote import RemoteRepository, resolve
from ovtriton.storage.emulators import MotoS3

LOGGER = logging.getLogger(__name__)


def _start_seconds(repository: Union[Path, RemoteRepository]) -> float:
    from ovtriton.server.process import Ports, TritonServer

    server = TritonServer(repository, ports=Ports.free())
    began = time.monotonic()
    with server:
        seconds = time.monotonic() - began
        failed = [m.name for m in server.models() if m.state != "READY"]
    if failed:
        raise UserError(f"cold start of {repository}: not READY: {', '.join(failed)}")
    return seconds


def _stats(values: list[float]) -> dict:
    return {
        "runs": [round(v, 2) for v in values],
        "median_s": round(statistics.median(values), 2),
        "min_s": round(min(values), 2),
        "max_s": round(max(values), 2),
    }


def cold_start(repository: Path, runs: int = 5) -> dict:
    """Start ``repository`` ``runs`` times from disk and ``runs`` times from S3, alternating."""
    if not repository.is_dir():
        raise UserError(f"--cold-start {repository}: not a folder (a Triton model repository)")
    local: list[float] = []
    remote: list[float] = []
    with MotoS3() as s3:
        upload_tree(s3.client(), repository, "coldstart", "repository")
        saved = {k: os.environ.get(k) for k in s3.env()}
        os.environ.update(s3.env())
        try:
            url = resolve("s3://coldstart/repository")
            for run in range(runs):
                local.append(_start_seconds(repository.resolve()))
                remote.append(_start_seconds(url))
                LOGGER.info("run %d: local %.2f s, S3 %.2f s", run + 1, local[-1], remote[-1])
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    medians = statistics.median(remote) / statistics.median(local)
    report: dict[str, Any] = {
        "repository": str(repository),
        "local": _stats(local),
        "s3": _stats(remote),
        "ratio_of_medians": round(medians, 3),
    }
    report["paired_ratios"] = [round(r / max(loc, 1e-9), 2) for loc, r in zip(local, remote)]
    return report
