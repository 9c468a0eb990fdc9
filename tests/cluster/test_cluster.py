"""The cluster's short form: 3 real serve replicas on a moto S3 bucket behind real nginx.

Each scenario runs under steady client load (HTTP and gRPC through nginx, every answer
checked against the version it may come from). Counts are asserted, never timings.
"""

from __future__ import annotations

from typing import Iterator

import psutil
import pytest

from ovtriton.cluster.cluster import Cluster, factor_of
from ovtriton.cluster.scenarios import run_scenarios

CLIENTS = 1  # per protocol: 2 requests at most in flight


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with Cluster(tmp_path_factory.mktemp("cluster"), size=3) as started:
        yield started
        pids = started.pids()
    assert len(pids) == 5  # S3 server, nginx, 3 replicas
    assert not [p for p in pids if _alive(p)]  # all stopped


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="module")
def report(cluster: Cluster) -> dict:
    pids = [r.pid for r in cluster.replicas]
    result = run_scenarios(cluster, None, clients=CLIENTS, outage_seconds=3)  # the route's five
    return {
        **result["scenarios"],
        "pids_before": pids,
        "pids_after": [r.pid for r in cluster.replicas],
    }


def test_rolling_restart_restarts_every_replica_without_a_failed_request(report: dict) -> None:
    result = report["rolling-restart"]
    assert result["requests"] > 0
    assert result["failed"] == 0, result["errors"]
    assert [s["replica"] for s in result["replicas"]] == ["replica-0", "replica-1", "replica-2"]
    assert not set(report["pids_before"]) & set(report["pids_after"])  # all new processes
    # Readiness turned false after SIGTERM, before the replica had finished draining.
    assert all(s["unready_after_sigterm_s"] is not None for s in result["replicas"])


def test_rolling_config_change_serves_the_new_version_everywhere(report: dict) -> None:
    result = report["rolling-config-change"]
    assert result["failed"] == 0, result["errors"]
    assert [s["status"] for s in result["replicas"]] == [200, 200, 200]
    assert set(result["answers_after_change"]) == {str(factor_of(2))}


def test_kill_9_fails_at_most_the_requests_in_flight(report: dict) -> None:
    result = report["kill-replica"]
    assert result["failed"] <= 2 * CLIENTS, result["errors"]
    assert result["attempts_while_down"] >= 1  # nginx noticed it (and failed over)
    assert result["serving_again_s"] is not None  # the restarted replica served through nginx


def test_storage_outage_fails_nothing(report: dict) -> None:
    result = report["storage-outage"]
    assert result["requests"] > 0
    assert result["failed"] == 0, result["errors"]
    assert result["replicas_ready_during"] == [True, True, True]


def test_a_half_uploaded_version_is_never_served(report: dict) -> None:
    result = report["half-upload"]
    assert result["failed"] == 0, result["errors"]  # a version-3 answer would count as failed
    assert all(status != 200 for status in result["reload_status"])
    assert set(result["answers_by_factor"]) == {str(factor_of(2))}
    assert result["removed_objects"] == 1
