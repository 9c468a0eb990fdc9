"""CPU per inference split by stage (``ovtriton/bench/cpu_split.py``), arithmetic and reading."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from ovtriton.bench import cpu_split
from ovtriton.bench.report import cell_table, stage_cells
from ovtriton.bench.stats import Sample, cell_stats


def test_split_sums_each_stages_processes_between_two_readings() -> None:
    before = {("client", 1): 10.0, ("triton", 7): 5.0, ("stubs", 8): 2.0, ("stubs", 9): 1.0}
    after = {
        ("client", 1): 10.5,
        ("triton", 7): 6.25,
        ("stubs", 8): 2.5,
        ("stubs", 9): 1.75,
        ("stubs", 12): 0.25,  # a stub started during the round: all its CPU counts
        ("front", 20): 3.0,  # a stage absent before counts from zero
    }
    before[("stubs", 11)] = 4.0  # a stub that ended during the round counts nothing
    assert cpu_split.split(before, after) == {
        "client": 0.5,
        "triton": 1.25,
        "stubs": 0.5 + 0.75 + 0.25,
        "front": 3.0,
    }


def test_a_counter_that_went_back_counts_zero_not_negative() -> None:
    # a pid reused by a new process between the readings: its CPU restarts from zero
    assert cpu_split.split({("stubs", 5): 9.0}, {("stubs", 5): 0.5}) == {"stubs": 0.0}


def test_per_inference_ms_orders_the_stages_and_guards_zero_inferences() -> None:
    seconds = {"stubs": 0.2, "client": 0.1, "triton": 0.4}
    ms = cpu_split.per_inference_ms(seconds, 100)
    assert list(ms) == ["client", "triton", "stubs"]
    assert ms == pytest.approx({"client": 1.0, "triton": 4.0, "stubs": 2.0})
    assert cpu_split.per_inference_ms(seconds, 0) == {}
    assert cpu_split.describe(ms) == "client 1.00 / triton 4.00 / stubs 2.00"
    assert cpu_split.describe({}) == "-"


def test_a_cells_split_pools_its_rounds_and_adds_up_to_its_total() -> None:
    rounds = [
        Sample("ensemble_grpc", 1, 2, [5.0] * 10, 1.0, 0.03, {"client": 0.01, "triton": 0.02}),
        Sample("ensemble_grpc", 1, 2, [5.0] * 30, 1.0, 0.06, {"client": 0.02, "stubs": 0.04}),
    ]
    cell = cell_stats(rounds)  # 40 inferences, 90 ms of CPU
    assert cell.cpu_ms_by_stage == pytest.approx({"client": 0.75, "triton": 0.5, "stubs": 1.0})
    assert sum(cell.cpu_ms_by_stage.values()) == pytest.approx(cell.cpu_ms_per_inference)
    assert stage_cells(cell.cpu_ms_by_stage) == "0.8/0.5/1.0/-"
    assert "client/triton/stubs/front" in cell_table([cell])


# The leader forks one child into its process group, as tritonserver forks its stubs.
GROUP = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(child.pid, flush=True)
time.sleep(60)
"""


def test_read_cpu_names_the_group_leader_triton_and_the_other_members_stubs() -> None:
    leader = subprocess.Popen(
        [sys.executable, "-c", GROUP], start_new_session=True, stdout=subprocess.PIPE, text=True
    )
    front = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert leader.stdout is not None
        child = int(leader.stdout.readline())
        reading = cpu_split.read_cpu(leader.pid, front_pid=front.pid)
        assert set(reading) == {
            ("client", os.getpid()),
            ("triton", leader.pid),
            ("stubs", child),
            ("front", front.pid),
        }
        assert all(seconds >= 0 for seconds in reading.values())
        assert set(cpu_split.read_cpu()) == {("client", os.getpid())}  # in-process: client only
    finally:
        front.kill()
        front.wait(timeout=10)
        os.killpg(leader.pid, signal.SIGKILL)  # the group this test started, nothing else
        leader.wait(timeout=10)


def test_the_cpu_target_compares_the_pipeline_model_with_in_process_plus_the_floor() -> None:
    from ovtriton.bench.stats import summarize
    from ovtriton.bench.targets import pipeline_cpu

    def cell(mode: str, concurrency: int, cpu_ms: float) -> Sample:
        return Sample(mode, 1, concurrency, [1.0] * 100, 1.0, cpu_ms / 10)  # 100 inferences

    cells = summarize(
        [
            cell("inprocess", 4, 10.0),
            cell("inprocess_1t", 4, 9.0),  # the leanest in-process configuration
            cell("floor_grpc", 4, 2.0),
            cell("floor_http", 4, 3.0),
            cell("pipeline_grpc", 4, 11.0),  # 11 / (9 + 2) = 1.00
            cell("pipeline_http", 4, 13.2),  # 13.2 / (9 + 3) = 1.10: the worst
        ]
    )
    target = pipeline_cpu(cells)
    assert target.value == pytest.approx(1.10) and target.limit == 1.10 and target.holds
    assert "pipeline_http 13.20 vs inprocess_1t 9.00 + floor_http 3.00 ms" in target.detail
    assert pipeline_cpu(cells[:2]).holds is None  # no pipeline model measured
