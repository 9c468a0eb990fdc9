"""The scheduler's choice from a cost table (``backend/schedule.py``), worked out by hand."""

from __future__ import annotations

import pytest

from ovtriton.backend.schedule import (
    CPU_TOLERANCE,
    critical_path,
    even_schedule,
    plan_schedule,
)

MS = 1e-3
# left and right read the request, join reads both
DIAMOND = {"left": set(), "right": set(), "join": {"left", "right"}}


def test_critical_path_is_the_longest_chain_of_costs() -> None:
    cost = {"left": 3.0, "right": 5.0, "join": 1.0}
    assert critical_path(DIAMOND, cost) == 6.0
    assert critical_path({"a": set(), "b": {"a"}, "c": {"b"}}, {"a": 1, "b": 2, "c": 4}) == 7


def test_even_schedule_splits_the_cores_over_the_width() -> None:
    schedule = even_schedule(DIAMOND, 4)
    assert dict(schedule.threads) == {"left": 2, "right": 2, "join": 2}
    assert schedule.side_by_side and schedule.kind == "even"
    assert dict(even_schedule(DIAMOND, 1).threads) == {"left": 1, "right": 1, "join": 1}


def test_balanced_branches_stay_side_by_side() -> None:
    costs = {
        "left": {1: 10 * MS, 2: 5.6 * MS},
        "right": {1: 10 * MS, 2: 5.6 * MS},
        "join": {1: 1 * MS, 2: 0.6 * MS},
    }
    schedule = plan_schedule(DIAMOND, costs, 2)
    # side by side: 10 + 0.6 ms for 21.2 ms CPU; one after another: 11.8 ms for 23.6 ms CPU,
    # beyond the 10 % more CPU (less throughput) the cost model allows
    assert schedule.side_by_side
    assert dict(schedule.threads) == {"left": 1, "right": 1, "join": 2}
    assert schedule.latency == pytest.approx(10.6 * MS)
    assert schedule.cpu == pytest.approx(21.2 * MS)


def test_an_unbalanced_branch_makes_the_nodes_run_one_after_another_with_every_core() -> None:
    costs = {  # the seed's shape: one slow model beside a fast one
        "left": {1: 12.1 * MS, 2: 6.5 * MS},
        "right": {1: 1.5 * MS, 2: 0.9 * MS},
        "join": {1: 0.12 * MS, 2: 0.1 * MS},
    }
    schedule = plan_schedule(DIAMOND, costs, 2)
    # side by side at best 12.2 ms for 13.8 ms CPU; one after another 7.5 ms for 15.0 ms CPU,
    # within the 10 % of CPU (throughput) the cost model allows
    assert not schedule.side_by_side
    assert dict(schedule.threads) == {"left": 2, "right": 2, "join": 2}
    assert schedule.latency == pytest.approx(7.5 * MS)
    # without the one-after-another plan (an ensemble), side by side with one thread each
    ensemble = plan_schedule(DIAMOND, costs, 2, one_after_another=False)
    assert ensemble.side_by_side and dict(ensemble.threads) == {"left": 1, "right": 1, "join": 2}


def test_spare_cores_go_to_the_slow_branch() -> None:
    costs = {
        "left": {1: 12 * MS, 2: 6.2 * MS, 4: 3.3 * MS},
        "right": {1: 1 * MS, 2: 0.6 * MS, 4: 0.5 * MS},
        "join": {1: 0.1 * MS, 2: 0.1 * MS, 4: 0.1 * MS},
    }
    schedule = plan_schedule(DIAMOND, costs, 4)
    # left 2 + right 1 threads fit 4 cores (left 4 would not); one after another would take
    # 15.3 ms CPU against 13.5 ms: beyond the tolerance
    assert schedule.side_by_side
    assert dict(schedule.threads) == {"left": 2, "right": 1, "join": 1}
    assert schedule.latency == pytest.approx(6.3 * MS)


def test_a_plan_that_costs_too_much_cpu_is_refused() -> None:
    costs = {
        "left": {1: 12.1 * MS, 2: 8.0 * MS},  # a second thread helps little: 16 ms CPU
        "right": {1: 1.5 * MS, 2: 0.9 * MS},
        "join": {1: 0.1 * MS, 2: 0.1 * MS},
    }
    schedule = plan_schedule(DIAMOND, costs, 2)
    serial_cpu = (8.0 + 0.9) * 2 * MS + 0.1 * MS
    assert serial_cpu > (12.1 + 1.5 + 0.1) * MS * (1 + CPU_TOLERANCE)
    assert schedule.side_by_side


def test_requests_that_never_overlap_take_the_lowest_latency_whatever_its_cpu() -> None:
    costs = {  # the case above, for a pipeline model: one request at a time
        "left": {1: 12.1 * MS, 2: 8.0 * MS},
        "right": {1: 1.5 * MS, 2: 0.9 * MS},
        "join": {1: 0.1 * MS, 2: 0.1 * MS},
    }
    schedule = plan_schedule(DIAMOND, costs, 2, serial=True)
    # side by side at best 12.1 + 0.1 ms (left cannot get 2 threads beside right); one after
    # another 8.0 + 0.9 + 0.1 ms: its extra CPU costs no throughput when requests never overlap
    assert not schedule.side_by_side
    assert schedule.latency == pytest.approx(9.0 * MS)
    assert schedule.threads["left"] == 2 and schedule.threads["right"] == 2


def test_a_chain_gives_every_node_its_fastest_thread_count() -> None:
    chain = {"a": set(), "b": {"a"}}
    costs = {"a": {1: 4 * MS, 2: 2.1 * MS}, "b": {1: 1 * MS, 2: 1.2 * MS}}
    schedule = plan_schedule(chain, costs, 2)
    assert dict(schedule.threads) == {"a": 2, "b": 1}
    assert schedule.latency == pytest.approx(3.1 * MS)


def test_nodes_without_a_cost_cost_nothing_and_the_choice_is_described() -> None:
    sources = {"model": set(), "custom": set(), "join": {"model", "custom"}}
    costs = {"model": {1: 2 * MS, 2: 1.1 * MS}, "join": {1: 1 * MS, 2: 0.55 * MS}}
    schedule = plan_schedule(sources, costs, 2)
    # one after another (model 2, join 2 threads): 1.1 + 0.55 ms for 3.3 ms CPU, against
    # side by side 2 + 0.55 ms for 3.1 ms CPU; the custom node costs nothing in either
    assert schedule.latency == pytest.approx(1.65 * MS) and not schedule.side_by_side
    text = schedule.describe()
    assert text.startswith("measured schedule, ") and "custom=" in text and "ms CPU" in text


def test_a_wide_dag_on_many_cores_shares_them_within_every_antichain() -> None:
    branches = {f"b{i}": set() for i in range(12)}
    sources = {**branches, "join": set(branches)}
    costs = {
        node: {t: (1.0 + i) / t**0.9 for t in (1, 2, 4, 8, 16, 32, 64)}
        for i, node in enumerate(sources)
    }
    schedule = plan_schedule(sources, costs, 64)
    assert schedule.side_by_side
    assert sum(schedule.threads[n] for n in branches) <= 64  # they run together
    assert schedule.threads["join"] == 64  # alone at the end: every core
    # the slowest branch (b11) gets at least as many threads as the fastest (b0)
    assert schedule.threads["b11"] >= schedule.threads["b0"]


def test_a_dag_of_more_than_14_nodes_keeps_the_even_split() -> None:
    chain = {f"n{i}": ({f"n{i - 1}"} if i else set()) for i in range(15)}
    costs = {node: {1: 1.0, 2: 0.4} for node in chain}  # 2 threads would be much faster
    schedule = plan_schedule(chain, costs, 2)
    assert schedule.kind == "even" and set(schedule.threads.values()) == {2}
    fourteen = {k: v for k, v in chain.items() if k != "n14"}
    assert plan_schedule(fourteen, costs, 2).kind == "measured"
