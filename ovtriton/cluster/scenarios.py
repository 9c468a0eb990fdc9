"""The cluster's scenarios, each run under steady client load through the balancer.

Every scenario returns its report: requests and failed requests in its window (answers are
checked: a wrong version's answer is a failure), plus what it measured (drain, readiness and
recovery seconds). Reloads are explicit (the repository API of each replica, after an upload
has finished), never a poll that could catch an upload half-way.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from ovtriton.cluster.balancer import FAIL_TIMEOUT
from ovtriton.cluster.cluster import BUCKET, PREFIX, Cluster, factor_of, write_model
from ovtriton.cluster.config_scenarios import config_change, config_half_upload
from ovtriton.cluster.load import MODEL, Load
from ovtriton.errors import UserError
from ovtriton.cluster.bucket import delete_prefix

LOGGER = logging.getLogger(__name__)
Report = dict


def _settle(load: Load, seconds: float = 1.0) -> None:
    """Keep the load running a little after the last action, so late failures are counted."""
    time.sleep(seconds)


def rolling_restart(cluster: Cluster, load: Load) -> Report:
    """Each replica in turn: out of rotation, SIGTERM (drain), start, ready, back in."""
    assert cluster.balancer is not None
    start = time.monotonic()
    steps = []
    for i, replica in enumerate(cluster.replicas):
        out = cluster.balancer.set_down(i, True)
        drain, unready = replica.terminate()
        replica.start()
        ready = replica.wait_ready()
        back = cluster.balancer.set_down(i, False)
        steps.append(
            {
                "replica": replica.name,
                "out_of_rotation_s": round(out, 2),
                "drain_s": round(drain, 2),
                "unready_after_sigterm_s": None if unready is None else round(unready, 2),
                "ready_s": round(ready, 2),
                "back_in_rotation_s": round(back, 2),
            }
        )
        LOGGER.info("rolling restart: %s", steps[-1])
    _settle(load)
    return {**load.summary(start), "replicas": steps}


def rolling_config_change(cluster: Cluster, load: Load) -> Report:
    """Upload version N+1 (new objects only), then each replica reloads ``scale`` in place."""
    start = time.monotonic()
    new = cluster.version + 1
    load.factors.add(factor_of(new))
    uploaded = time.monotonic()
    cluster.upload(new)
    upload_s = time.monotonic() - uploaded
    steps = []
    for replica in cluster.replicas:
        began = time.monotonic()
        status, message = replica.load(MODEL)
        steps.append(
            {
                "replica": replica.name,
                "status": status,
                "error": message,
                "reload_s": round(time.monotonic() - began, 2),
            }
        )
    done = time.monotonic()
    _settle(load)
    after = load.summary(done + 0.5)
    load.factors.discard(factor_of(new - 1))
    return {
        **load.summary(start),
        "upload_s": round(upload_s, 2),
        "replicas": steps,
        "answers_after_change": after["answers_by_factor"],
    }


def kill_replica(cluster: Cluster, load: Load, index: int = 0) -> Report:
    """``kill -9`` one replica; nginx fails over; the replica restarts from the bucket."""
    assert cluster.balancer is not None
    replica = cluster.replicas[index]
    start, wall = time.monotonic(), time.time()
    replica.kill()
    time.sleep(FAIL_TIMEOUT + 1)  # the balancer's fail_timeout runs out once while it is down
    restarted = time.monotonic()
    replica.start()
    ready = replica.wait_ready()
    served_again = _served_by(cluster, replica.ports, wall + (restarted - start), timeout=30)
    _settle(load)
    ports = {replica.ports.http, replica.ports.grpc}
    tries = [t for t, upstreams in _log(cluster) if t >= wall and ports & upstreams]
    return {
        **load.summary(start),
        "replica": replica.name,
        "balancer_stopped_sending_s": round(tries[0] - wall, 2) if tries else 0.0,
        "attempts_while_down": len([t for t in tries if t < wall + (restarted - start)]),
        "ready_s": round(ready, 2),
        "serving_again_s": round(served_again - (wall + (restarted - start)), 2)
        if served_again
        else None,
    }


def storage_outage(cluster: Cluster, load: Load, seconds: float = 10.0) -> Report:
    """Stop the S3 server for ``seconds``: serving must not notice."""
    start = time.monotonic()
    cluster.s3.stop()
    time.sleep(seconds)
    ready = [r.ready() for r in cluster.replicas]
    cluster.restart_s3()
    _settle(load)
    return {**load.summary(start), "outage_s": seconds, "replicas_ready_during": ready}


def half_upload(cluster: Cluster, load: Load) -> Report:
    """A version folder with half a model.xml and no weights; every replica asked to reload."""
    start = time.monotonic()
    broken = cluster.version + 1
    folder = cluster.workdir / "half" / str(broken)
    write_model(folder, factor_of(broken))
    text = (folder / "model.xml").read_bytes()
    key = f"{PREFIX}/{MODEL}/{broken}/model.xml"
    cluster.s3.client().put_object(Bucket=BUCKET, Key=key, Body=text[: len(text) // 2])
    statuses = [replica.load(MODEL) for replica in cluster.replicas]
    _settle(load)
    removed = delete_prefix(cluster.s3.client(), BUCKET, f"{PREFIX}/{MODEL}/{broken}")
    return {
        **load.summary(start),
        "reload_status": [s for s, _ in statuses],
        "reload_errors": sorted({m[:160] for _, m in statuses if m}),
        "removed_objects": removed,
    }


SCENARIOS: dict[str, Callable[[Cluster, Load], Report]] = {
    "rolling-restart": rolling_restart,
    "rolling-config-change": rolling_config_change,
    "kill-replica": kill_replica,
    "storage-outage": storage_outage,
    "half-upload": half_upload,
    "config-change": config_change,
    "config-half-upload": config_half_upload,
}
# The scenarios of each route (Cluster.mode), in the order ``all`` runs them.
MODE_SCENARIOS = {
    "repository": [
        "rolling-restart", "rolling-config-change", "kill-replica", "storage-outage",
        "half-upload",
    ],
    "config": [
        "config-change", "config-half-upload", "rolling-restart", "kill-replica",
        "storage-outage",
    ],
}  # fmt: skip


def _log(cluster: Cluster) -> list[tuple[float, set[int]]]:
    """(wall time, upstream ports tried) of every request nginx logged."""
    assert cluster.balancer is not None
    rows = []
    for line in cluster.balancer.access_log.read_text(encoding="utf-8").splitlines():
        parts = line.split('"')
        if len(parts) < 2:
            continue
        ports = {
            int(a.rsplit(":", 1)[1])
            for a in parts[1].replace(" : ", ", ").split(", ")
            if ":" in a and a.rsplit(":", 1)[1].isdigit()
        }
        rows.append((float(parts[0].split()[0]), ports))
    return rows


def _served_by(cluster: Cluster, ports, since: float, timeout: float) -> float | None:
    """Wall time of the first request after ``since`` answered by that replica (last upstream)."""
    deadline = time.monotonic() + timeout
    wanted = {ports.http, ports.grpc}
    while time.monotonic() < deadline:
        assert cluster.balancer is not None
        for line in cluster.balancer.access_log.read_text(encoding="utf-8").splitlines():
            parts = line.split('"')
            if len(parts) < 4 or float(parts[0].split()[0]) < since:
                continue
            last = parts[1].split(", ")[-1]
            if (
                last.rsplit(":", 1)[-1].isdigit()
                and int(last.rsplit(":", 1)[1]) in wanted
                and parts[3].split(", ")[-1] == "200"
            ):
                return float(parts[0].split()[0])
        time.sleep(0.2)
    return None


def check_names(mode: str, names: list[str] | None) -> list[str]:
    """The scenarios to run on the ``mode`` route, in order; UserError for another route's."""
    known = MODE_SCENARIOS[mode]
    wrong = [n for n in names or [] if n not in known]
    if wrong:
        raise UserError(
            f"scenario {', '.join(wrong)}: not one of the {mode} route's "
            f"({', '.join(known)}); choose --mode to match"
        )
    return [n for n in known if names is None or n in names]


def run_scenarios(
    cluster: Cluster, names: list[str] | None, clients: int = 2, outage_seconds: float = 10.0
) -> dict:
    """Run the named scenarios (all when None) in order, each in its own load window."""
    chosen = check_names(cluster.mode, names)
    assert cluster.balancer is not None
    load = Load(
        cluster.balancer.http_url,
        cluster.balancer.grpc_url,
        {factor_of(cluster.version)},
        clients_per_protocol=clients,
    )
    report: dict = {
        "mode": cluster.mode,
        "replicas": len(cluster.replicas),
        "clients": 2 * clients,
        "scenarios": {},
    }
    load.start()
    try:
        _settle(load)
        for name in chosen:
            LOGGER.info("scenario %s ...", name)
            if name == "storage-outage":
                result = storage_outage(cluster, load, outage_seconds)
            else:
                result = SCENARIOS[name](cluster, load)
            report["scenarios"][name] = result
            LOGGER.info(
                "scenario %s: %d requests, %d failed", name, result["requests"], result["failed"]
            )
    finally:
        load.stop()
    return report
