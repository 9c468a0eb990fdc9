"""Cold start of one repository: from a local folder, from the S3 server read by tritonserver
itself, and from the S3 server through ovtriton's local copy, interleaved.

Each run starts a fresh tritonserver the way ``serve`` does and times it from the start until
every model is READY (``/v2/health/ready``); the local-copy start also includes copying the
repository (``serve --repository-cache local``). The three kinds alternate within each run so
a machine whose load drifts affects them alike. The report gives each kind's median, minimum
and maximum seconds and the ratio of each S3 median to the local one (the target: <= 1.25).
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Union

from ovtriton.cluster.bucket import upload_tree
from ovtriton.errors import UserError
from ovtriton.server.remote import RemoteRepository, resolve
from ovtriton.storage.emulators import MotoS3
from ovtriton.storage.repository_cache import RepositoryCache

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


def _cached_start_seconds(url: str) -> float:
    """Copy the repository at ``url`` into a fresh folder, then start tritonserver on it."""
    scratch = Path(tempfile.mkdtemp(prefix="ovtriton-coldstart-"))
    try:
        began = time.monotonic()
        cache = RepositoryCache(url, scratch / "repository")
        cache.sync()
        return (time.monotonic() - began) + _start_seconds(cache.repository)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _stats(values: list[float]) -> dict:
    return {
        "runs": [round(v, 2) for v in values],
        "median_s": round(statistics.median(values), 2),
        "min_s": round(min(values), 2),
        "max_s": round(max(values), 2),
    }


def cold_start(repository: Path, runs: int = 5) -> dict:
    """Start ``repository`` ``runs`` times each from disk, from S3 (tritonserver reading it)
    and from S3 through a local copy, alternating."""
    if not repository.is_dir():
        raise UserError(f"--cold-start {repository}: not a folder (a Triton model repository)")
    local: list[float] = []
    remote: list[float] = []
    cached: list[float] = []
    with MotoS3() as s3:
        upload_tree(s3.client(), repository, "coldstart", "repository")
        saved = {k: os.environ.get(k) for k in s3.env()}
        os.environ.update(s3.env())
        try:
            url = resolve("s3://coldstart/repository")
            for run in range(runs):
                local.append(_start_seconds(repository.resolve()))
                remote.append(_start_seconds(url))
                cached.append(_cached_start_seconds("s3://coldstart/repository"))
                LOGGER.info(
                    "run %d: local %.2f s, S3 (tritonserver) %.2f s, S3 (local copy) %.2f s",
                    run + 1, local[-1], remote[-1], cached[-1],
                )  # fmt: skip
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    base = statistics.median(local)
    report: dict[str, Any] = {
        "repository": str(repository),
        "local": _stats(local),
        "s3": _stats(remote),
        "s3_local_copy": _stats(cached),
        "ratio_of_medians": round(statistics.median(remote) / base, 3),
        "ratio_of_medians_local_copy": round(statistics.median(cached) / base, 3),
    }
    report["paired_ratios"] = [round(r / max(loc, 1e-9), 2) for loc, r in zip(local, remote)]
    report["paired_ratios_local_copy"] = [
        round(c / max(loc, 1e-9), 2) for loc, c in zip(local, cached)
    ]
    return report
