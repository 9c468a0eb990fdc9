"""The cluster's OVMS route, short form: 3 real ``serve --config_path s3://…/config.json
--file_system_poll_wait_seconds 1`` replicas on a moto bucket behind real nginx.

Under steady client load through nginx (every answer checked: the old model's or the new
one's, never an error), a new config.json is uploaded, then one naming a half-uploaded model.
Counts and answers are asserted; the seconds are reported, never asserted (a loaded machine).
"""

from __future__ import annotations

from typing import Iterator

import pytest

from ovtriton.cluster.cluster import Cluster, factor_of
from ovtriton.cluster.scenarios import run_scenarios

CLIENTS = 1  # per protocol
POLL = 1.0


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    workdir = tmp_path_factory.mktemp("cluster-config")
    with Cluster(workdir, size=3, mode="config", poll_seconds=POLL) as cluster:
        commands = [r.command() for r in cluster.replicas]
        result = run_scenarios(cluster, ["config-change", "config-half-upload"], clients=CLIENTS)
    print(result)  # the measured seconds, for the log (-s)
    yield {**result["scenarios"], "commands": commands}


def test_every_replica_runs_ovms_config_path_with_its_poll(report: dict) -> None:
    for command in report["commands"]:
        assert command[command.index("--config_path") + 1] == "s3://models/ovms/config.json"
        assert command[command.index("--file_system_poll_wait_seconds") + 1] == "1"
        assert "--model-repository" not in command


def test_an_uploaded_config_change_is_served_by_every_replica_without_a_failure(
    report: dict,
) -> None:
    result = report["config-change"]
    assert result["requests"] > 0
    assert result["failed"] == 0, result["errors"]  # never an error, never a third answer
    assert sorted(result["served_new_s"]) == ["replica-0", "replica-1", "replica-2"]
    assert sorted(result["mirrored_s"]) == ["replica-0", "replica-1", "replica-2"]  # by a poll
    assert set(result["answers_after_change"]) == {str(factor_of(2))}


def test_a_config_naming_a_half_uploaded_model_waits_for_the_upload(report: dict) -> None:
    result = report["config-half-upload"]
    assert result["failed"] == 0, result["errors"]
    # While model.bin was missing: every mirror refused, only the old model answered.
    assert result["failed_while_half_uploaded"] == 0
    assert set(result["answers_while_half_uploaded"]) == {str(factor_of(2))}
    assert result["replicas_answer_while_half_uploaded"] == [factor_of(2)] * 3
    # Once the upload completed, every replica served the new model.
    assert sorted(result["served_new_s"]) == ["replica-0", "replica-1", "replica-2"]


def test_a_scenario_of_the_other_route_is_refused_by_name(tmp_path) -> None:
    from ovtriton.errors import UserError

    cluster = Cluster(tmp_path, mode="config")  # not started: refused before any load
    with pytest.raises(UserError, match="half-upload: not one of the config route's"):
        run_scenarios(cluster, ["half-upload"])
