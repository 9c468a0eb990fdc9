"""Scenarios of the OVMS route (``Cluster(mode="config")``): config changes the replicas poll.

Each replica runs ``serve --config_path s3://…/config.json --file_system_poll_wait_seconds N``;
nothing tells it about a change: it must see the new ``config.json`` at a poll, mirror the
model folder it names, convert and reload. The load's answer check (every answer is the old
model's or the new one's, never an error) proves no replica answered from a half-applied
repository; each replica is also asked directly until it answers with the new model.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from ovtriton.cluster.cluster import Cluster, factor_of
from ovtriton.cluster.load import INPUT, MODEL, OUTPUT, Load
from ovtriton.cluster.replicas import Replica
from ovtriton.errors import UserError

LOGGER = logging.getLogger(__name__)
REFUSED = "is incomplete"  # what the mirror says about a half-uploaded version (serve's log)
MIRRORED = "mirrored s3://"  # what it says when it mirrored a change


def answer_factor(replica: Replica) -> float | None:
    """The factor this replica's ``scale`` answers with now (None: no answer)."""
    import tritonclient.http as httpclient

    if not replica.is_ours():
        raise UserError(f"{replica.name}: another server answers on {replica.http_url}")
    x = np.array([[1.0, 2.0, -3.0, 0.5]], np.float32)
    try:
        client = httpclient.InferenceServerClient(replica.http_url, network_timeout=10)
        tensor = httpclient.InferInput(INPUT, [1, 4], "FP32")
        tensor.set_data_from_numpy(x)
        y = client.infer(MODEL, [tensor]).as_numpy(OUTPUT)
    except Exception:  # not loaded (yet), unreachable: no answer
        return None
    return float(y[0, 0] / x[0, 0]) if y is not None else None


def wait_served(
    cluster: Cluster, factor: float, since: float, offsets: list[int], timeout: float = 120.0
) -> tuple[dict, dict]:
    """Seconds from ``since`` until each replica answered with ``factor`` (asked directly),
    and until its serve.log (past ``offsets``) said it mirrored the change (its poll saw it)."""
    seconds: dict[str, float] = {}
    mirrored: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(seconds) < len(cluster.replicas):
        for replica, offset in zip(cluster.replicas, offsets):
            if replica.name not in mirrored and _logged(replica, offset, MIRRORED):
                mirrored[replica.name] = round(time.monotonic() - since, 2)
            if replica.name not in seconds and answer_factor(replica) == factor:
                seconds[replica.name] = round(time.monotonic() - since, 2)
        if time.monotonic() > deadline:
            missing = [r.name for r in cluster.replicas if r.name not in seconds]
            raise UserError(f"{', '.join(missing)} did not serve factor {factor} in {timeout} s")
        time.sleep(0.05)
    return seconds, mirrored


def _logged(replica: Replica, offset: int, text: str) -> bool:
    with open(replica.workdir / "serve.log", "rb") as log:
        log.seek(offset)
        return text.encode() in log.read()


def _log_sizes(cluster: Cluster) -> list[int]:
    return [(r.workdir / "serve.log").stat().st_size for r in cluster.replicas]


def wait_logged(cluster: Cluster, offsets: list[int], text: str, timeout: float = 60.0) -> float:
    """Seconds until every replica's serve.log, past ``offsets``, holds ``text``."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if all(_logged(r, offset, text) for r, offset in zip(cluster.replicas, offsets)):
            return time.monotonic() - began
        time.sleep(0.1)
    raise UserError(f"not every replica logged {text!r} within {timeout} s")


def _served_report(cluster: Cluster, served: tuple[dict, dict]) -> dict:
    """Served: config upload -> new answers; mirrored: -> the poll saw it and mirrored it (the
    rest is converting and tritonserver loading the model)."""
    seconds, mirrored = served
    return {
        "poll_seconds": cluster.poll_seconds,
        "mirrored_s": mirrored,
        "served_new_s": seconds,
        "slowest_s": max(seconds.values()),
        "mirrored_within_two_polls": max(mirrored.values(), default=0) <= 2 * cluster.poll_seconds,
        "served_within_two_polls": max(seconds.values()) <= 2 * cluster.poll_seconds,
    }


def config_change(cluster: Cluster, load: Load) -> dict:
    """A complete new model folder, then a config.json naming it; every replica polls it."""
    start = time.monotonic()
    old, new = cluster.version, cluster.version + 1
    cluster.upload_model(new)  # nothing names it yet: no replica reads it
    load.factors.add(factor_of(new))
    offsets = _log_sizes(cluster)
    uploaded = time.monotonic()
    cluster.upload_config(new)
    seconds = wait_served(cluster, factor_of(new), uploaded, offsets)
    done = time.monotonic()
    time.sleep(1.0)  # keep the load running: late failures are counted
    after = load.summary(done + 0.5)
    load.factors.discard(factor_of(old))
    return {
        **load.summary(start),
        **_served_report(cluster, seconds),
        "answers_after_change": after["answers_by_factor"],
    }


def config_half_upload(cluster: Cluster, load: Load) -> dict:
    """A config.json naming a model folder whose model.bin is not uploaded yet: every replica's
    mirror refuses it (and keeps serving the old model); once model.bin is there, it serves."""
    start = time.monotonic()
    old, new = cluster.version, cluster.version + 1
    offsets = _log_sizes(cluster)
    cluster.upload_model(new, files=("model.xml",))
    cluster.upload_config(new)
    refused_s = wait_logged(cluster, offsets, REFUSED)
    time.sleep(2 * cluster.poll_seconds)  # two more polls see the same half upload
    still_old = [answer_factor(r) for r in cluster.replicas]
    half = load.summary(start)  # only the old factor is accepted so far
    load.factors.add(factor_of(new))
    offsets = _log_sizes(cluster)
    completed = time.monotonic()
    cluster.upload_model(new, files=("model.bin",))
    seconds = wait_served(cluster, factor_of(new), completed, offsets)
    time.sleep(1.0)
    load.factors.discard(factor_of(old))
    return {
        **load.summary(start),
        "refused_by_every_replica_s": round(refused_s, 2),
        "answers_while_half_uploaded": half["answers_by_factor"],
        "failed_while_half_uploaded": half["failed"],
        "replicas_answer_while_half_uploaded": still_old,
        "old_factor": factor_of(old),
        **_served_report(cluster, seconds),
    }
