"""The seed client's statistics, checked against the numbers the seed itself printed."""

from __future__ import annotations

import pytest

from ovtriton.seed.stats import Statistics, accuracy

# Per-iteration times of the OVMS ensemble example (2021.1) and the summary it printed.
SEED_TIMES = [50.42, 45.15, 65.82, 52.14, 49.96, 43.82, 46.74, 73.30, 48.10, 48.32]
SEED_SUMMARY = [
    "processing time for all iterations",
    "average time: 51.90 ms; average speed: 19.27 fps",
    "median time: 48.50 ms; median speed: 20.62 fps",
    "max time: 73.00 ms; min speed: 13.70 fps",
    "min time: 43.00 ms; max speed: 23.26 fps",
    "time percentile 90: 65.80 ms; speed percentile 90: 15.20 fps",
    "time percentile 50: 48.50 ms; speed percentile 50: 20.62 fps",
    "time standard deviation: 9.06",
    "time variance: 82.09",
]


def test_statistics_print_the_seed_summary_when_given_the_seed_timings() -> None:
    assert Statistics.of(SEED_TIMES).lines() == SEED_SUMMARY


def test_statistics_are_exact_for_hand_computed_timings() -> None:
    stats = Statistics.of([10.0, 20.0, 30.0, 40.0], batch_size=2)
    assert (stats.average, stats.median, stats.minimum, stats.maximum) == (25.0, 25.0, 10.0, 40.0)
    assert stats.p90 == pytest.approx(37.0)  # 30 + 0.7 * (40 - 30), linear interpolation
    assert stats.p50 == 25.0
    assert stats.variance == pytest.approx(125.0)  # population variance
    assert stats.std == pytest.approx(125.0**0.5)
    assert stats.speed(stats.average) == pytest.approx(80.0)  # 1000 * 2 images / 25 ms


def test_statistics_use_whole_milliseconds_like_the_seed_unless_told_otherwise() -> None:
    assert Statistics.of([10.9, 11.9]).average == 10.5
    assert Statistics.of([10.9, 11.9], whole_ms=False).average == pytest.approx(11.4)


def test_statistics_refuse_no_timings() -> None:
    with pytest.raises(ValueError, match="no processing times"):
        Statistics.of([])


def test_accuracy_is_a_percentage_and_zero_without_labels() -> None:
    assert accuracy(5, 6) == pytest.approx(83.333, abs=1e-3)
    assert accuracy(0, 0) == 0.0
