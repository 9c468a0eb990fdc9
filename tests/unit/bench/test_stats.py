"""Pooling rounds, ratios between modes and the targets, on made-up samples (no server)."""

from __future__ import annotations

import math

import pytest

from ovtriton.bench.stats import (
    Sample,
    cell_stats,
    percentiles,
    ratios,
    saturation,
    summarize,
)
from ovtriton.bench.targets import OneThread, targets


def _sample(
    mode: str,
    batch: int,
    concurrency: int,
    latency: float,
    wall: float = 1.0,
    count: int = 10,
    cpu: float = 1.5,
) -> Sample:
    return Sample(mode, batch, concurrency, [latency] * count, wall, cpu)


def test_percentiles_are_nan_when_there_are_no_values() -> None:
    assert all(math.isnan(v) for v in percentiles([]))


def test_percentiles_interpolate_like_numpy() -> None:
    assert percentiles(list(range(1, 101))) == pytest.approx((50.5, 90.1, 99.01))


def test_cell_stats_pools_rounds_and_counts_inferences_per_image_when_batched() -> None:
    rounds = [
        Sample("inprocess", 8, 2, [10.0, 20.0], 1.0, 1.0),
        Sample("inprocess", 8, 2, [30.0], 2.0, 2.0),
    ]
    cell = cell_stats(rounds)
    assert cell.requests == 3
    assert cell.p50_ms == 20.0
    assert (cell.p50_round_min_ms, cell.p50_round_max_ms) == (15.0, 30.0)
    assert cell.throughput == pytest.approx(3 * 8 / 3.0)
    assert cell.cpu_cores == pytest.approx(1.0)
    assert cell.cpu_ms_per_inference == pytest.approx(1000 * 3.0 / 24)


def test_summarize_orders_cells_by_batch_concurrency_then_mode() -> None:
    cells = summarize(
        [
            _sample("chain_grpc", 1, 2, 5),
            _sample("inprocess", 8, 1, 5),
            _sample("ensemble_grpc", 1, 2, 5),
            _sample("inprocess", 1, 2, 5),
        ]
    )
    assert [(c.batch, c.concurrency, c.mode) for c in cells] == [
        (1, 2, "inprocess"),
        (1, 2, "ensemble_grpc"),
        (1, 2, "chain_grpc"),
        (8, 1, "inprocess"),
    ]


def test_ratios_take_the_best_transport_and_compare_chaining_with_grpc() -> None:
    cells = summarize(
        [
            _sample("inprocess", 1, 1, 10.0),
            _sample("ensemble_grpc", 1, 1, 12.0),
            _sample("ensemble_http", 1, 1, 14.0),
            _sample("ensemble_shm", 1, 1, 11.0, count=9),
            _sample("chain_grpc", 1, 1, 18.0),
        ]
    )
    (r,) = ratios(cells)
    assert r.best_transport == "ensemble_shm"
    assert r.ensemble_vs_inprocess_p50 == pytest.approx(1.1)
    assert r.ensemble_vs_inprocess_throughput == pytest.approx(
        1.0
    )  # best ensemble: 10/s as in-process
    assert r.chain_vs_ensemble_p50 == pytest.approx(1.5)
    assert r.limit_mode == "inprocess" and r.pipeline_vs_inprocess_p50 is None


def test_the_limit_is_the_best_in_process_configuration_and_pipeline_ratios_use_it() -> None:
    cells = summarize(
        [
            _sample("inprocess", 1, 1, 10.0),
            _sample("inprocess_1t", 1, 1, 8.0),
            _sample("inprocess_latency", 1, 1, 9.0),
            _sample("ensemble_grpc", 1, 1, 16.0),
            _sample("pipeline_grpc", 1, 1, 12.0),
            _sample("pipeline_http", 1, 1, 13.0),
        ]
    )
    (r,) = ratios(cells)
    assert r.limit_mode == "inprocess_1t"
    assert r.ensemble_vs_inprocess_p50 == pytest.approx(2.0)
    assert r.pipeline_vs_inprocess_p50 == pytest.approx(1.5)
    assert r.ensemble_vs_pipeline_p50 == pytest.approx(16.0 / 12.0)


def test_ratios_are_none_when_a_mode_is_missing() -> None:
    (r,) = ratios(summarize([_sample("ensemble_http", 1, 4, 10.0)]))
    assert r.ensemble_vs_inprocess_p50 is None and r.chain_vs_ensemble_p50 is None


def test_saturation_is_the_highest_throughput_over_concurrencies() -> None:
    cells = summarize(
        [
            _sample("inprocess", 1, 1, 10, count=10),
            _sample("inprocess", 1, 4, 10, count=30),
            _sample("inprocess", 1, 16, 10, count=20),
        ]
    )
    best = saturation(cells, ("inprocess",), 1)
    assert best is not None and best.concurrency == 4


def test_one_thread_ratio_needs_two_branches() -> None:
    assert OneThread(10.0, {"a": 8.0}).ratio is None
    assert OneThread(10.0, {"a": 8.0, "b": 12.0}).ratio == pytest.approx(0.5)
    assert OneThread(10.0, {}, 9.0, {"a": 6.0, "b": 6.0}).inprocess_ratio == pytest.approx(0.75)


def test_targets_hold_and_miss_on_the_issue_limits() -> None:
    cells = summarize(
        [
            _sample("inprocess", 1, 1, 10.0),
            _sample("ensemble_grpc", 1, 1, 12.0, count=8),
            _sample("chain_grpc", 1, 1, 11.0),
        ]
    )
    found = {
        t.name.split(" (")[0].split(":")[0]: t
        for t in targets(cells, OneThread(12.0, {"a": 10.0, "b": 10.0}), 0.4)
    }
    assert found["ensemble p50 at c=1"].holds is False  # 1.2 > 1.15
    assert found["ensemble throughput at saturation / in-process"].holds is False  # 0.8
    assert found["ensemble faster than client chaining at every concurrency"].holds is False
    assert found["one thread per branch"].holds is True  # 0.6
    assert found["convert 200 models + 100 pipelines, seconds beyond reading models"].holds is True


def test_pipeline_targets_use_the_floor_of_the_same_transport_and_cpu_at_c4_c8() -> None:
    cells = summarize(
        [
            _sample("inprocess", 1, 1, 4.0),
            _sample("inprocess_1t", 1, 1, 3.0),
            _sample("floor_grpc", 1, 1, 2.0),
            _sample("floor_http", 1, 1, 1.0),
            _sample("floor_openvino_grpc", 1, 1, 2.5),
            _sample("pipeline_grpc", 1, 1, 5.4),  # 5.4 / (3 + 2) = 1.08
            _sample("pipeline_http", 1, 1, 4.8),  # 4.8 / (3 + 1) = 1.20
            _sample("ensemble_grpc", 1, 1, 6.6),  # 6.6 / 4.8 = 1.375
            _sample("inprocess", 1, 4, 1.0, cpu=1.0),
            _sample("floor_grpc", 1, 4, 1.0, cpu=0.5),
            _sample("pipeline_grpc", 1, 4, 1.0, cpu=1.1),  # 1.1 / (1.0 + 0.5)
            _sample("inprocess", 1, 8, 1.0, cpu=1.0),
            _sample("floor_grpc", 1, 8, 1.0, cpu=0.5),
            _sample("pipeline_grpc", 1, 8, 1.0, cpu=1.95),  # 1.95 / (1.0 + 0.5) = 1.3
        ]
    )
    found = {t.name.split(" ")[0] + t.name.split(" ")[2]: t for t in targets(cells, None, None, [])}
    floor = found["pipelinep50"]
    assert floor.value == pytest.approx(1.08) and floor.holds is True
    assert "pipeline_grpc 5.40 ms vs inprocess_1t 3.00 + floor_grpc 2.00 ms" == floor.detail
    assert found["defaultp50"].value == pytest.approx(1.375) and found["defaultp50"].holds is False
    cpu = found["pipelineCPU"]
    assert cpu.value == pytest.approx(1.3) and cpu.holds is False and cpu.detail.startswith("c=8")
    assert found["everyreturns"].holds is True
    zero = found["zero-computep50"]
    assert zero.value == pytest.approx(0.5) and zero.holds is False


def test_an_output_mismatch_fails_its_target() -> None:
    found = targets(summarize([_sample("inprocess", 1, 1, 1.0)]), None, None, ["x differs"])
    assert found[-1].holds is False and found[-1].detail == "x differs"


def test_targets_are_not_measured_without_the_extra_checks() -> None:
    found = targets(summarize([_sample("inprocess", 1, 1, 10.0)]), None, None)
    assert [t.holds for t in found] == [None] * 10


def test_served_throughput_is_held_to_in_process_for_ensemble_and_pipeline_model() -> None:
    cells = summarize(
        [
            _sample("inprocess", 1, 4, 1.0, wall=1.0, count=100),  # 100/s
            _sample("ensemble_grpc", 1, 4, 1.0, wall=1.0, count=80),  # 0.80
            _sample("pipeline_grpc", 1, 4, 1.0, wall=1.0, count=95),  # 0.95
        ]
    )
    found = {t.name: t for t in targets(cells, None, None, [])}
    ensemble = found["ensemble throughput at saturation / in-process (batch 1)"]
    pipeline = found["pipeline model throughput at saturation / in-process (batch 1)"]
    assert ensemble.value == pytest.approx(0.80) and ensemble.holds is False
    assert pipeline.value == pytest.approx(0.95) and pipeline.holds is True
    assert pipeline.detail == "pipeline_grpc c=4 95.0/s vs inprocess c=4 100.0/s"
