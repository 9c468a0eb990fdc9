"""Schedules: how many OpenVINO threads each node of a DAG gets, and whether branches overlap.

A *schedule* is chosen from each node's measured cost (``node_cost.py``): ``cost(node, t)`` is
the median latency of one inference of the node alone with ``t`` threads. The cost model:

- *latency at concurrency 1* of a plan whose branches run **side by side** is the critical path
  of the DAG with every node at ``cost(node, threads[node])``; such a plan must not give the
  nodes that can run at the same time (every antichain of the DAG) more threads together than
  there are cores, else they fight over them and the estimate is wrong. Of a plan that runs the
  nodes **one after another** (every node may take every core) it is the sum of the node costs.
- *CPU per request* is ``sum(cost(node, t) * t)``: at concurrency >= cores the throughput is
  about ``cores / cpu``, so a plan may not cost more than ``1 + CPU_TOLERANCE`` times the
  cheapest plan's CPU (throughput kept within that much).

Among the plans that keep throughput, the one with the lowest latency wins (then the lower CPU).
A DAG whose requests run one at a time (``serial``: a pipeline model, one backend instance whose
``execute`` Triton serialises) has a throughput of 1 / latency, so there the CPU rule does not
apply and the lowest latency wins outright.
The side-by-side plan is grown greedily from one thread per node (the move that shortens the
critical path most, while every antichain fits the cores), and the even split (``cores //
width``, the schedule without measurements) is always a candidate, so a measured schedule is
never worse than the even one in the model. Nodes without a cost (custom nodes) cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Mapping, Optional

from .pipeline_spec import _reachable, dag_width

EVEN, MEASURED = "even", "measured"
SCHEDULES = (EVEN, MEASURED)
CPU_TOLERANCE = 0.10
_MAX_ANTICHAIN_NODES = 14  # antichains are enumerated; bigger DAGs keep the even split

Costs = Mapping[str, Mapping[int, float]]  # node -> threads -> seconds


@dataclass(frozen=True)
class Schedule:
    threads: Mapping[str, int]  # node -> OpenVINO threads
    side_by_side: bool  # False: one node at a time per request, each with its threads
    kind: str  # "even", "measured" or why the threads were fixed
    latency: float = 0.0  # the cost model's estimate (seconds), 0 without measurements
    cpu: float = 0.0

    def describe(self) -> str:
        order = "branches side by side" if self.side_by_side else "nodes one after another"
        threads = ", ".join(f"{node}={t}" for node, t in sorted(self.threads.items()))
        text = f"{self.kind} schedule, {order}, threads {threads}"
        if self.latency:
            text += f" (estimated {self.latency * 1e3:.2f} ms, {self.cpu * 1e3:.2f} ms CPU)"
        return text


def even_schedule(sources: Mapping[str, set[str]], cores: int, kind: str = EVEN) -> Schedule:
    """Every node ``cores // width`` threads, branches side by side (no measurement needed)."""
    threads = max(1, cores // dag_width(sources))
    return Schedule({node: threads for node in sources}, True, kind)


def plan_schedule(
    sources: Mapping[str, set[str]],
    costs: Costs,
    cores: int,
    one_after_another: bool = True,
    serial: bool = False,
) -> Schedule:
    """The measured schedule; ``one_after_another``: whether that plan can be run at all;
    ``serial``: requests never overlap (throughput is 1 / latency, CPU is no constraint)."""
    even = even_schedule(sources, cores)
    if len(sources) > _MAX_ANTICHAIN_NODES:
        return even
    antichains = _antichains(sources)
    plans = [_rated(sources, costs, even.threads, True)]
    plans.append(_rated(sources, costs, _grow(sources, costs, cores, antichains), True))
    if one_after_another and dag_width(sources) > 1:
        fastest = {
            node: min((t for t in costs.get(node, {}) if t <= cores), key=lambda t: costs[node][t])
            if _timed(costs, node, cores)
            else even.threads[node]
            for node in sources
        }
        plans.append(_rated(sources, costs, fastest, False))
    cheapest = min(plan.cpu for plan in plans)
    kept = [plan for plan in plans if serial or plan.cpu <= cheapest * (1 + CPU_TOLERANCE) + 1e-12]
    return min(kept, key=lambda plan: (plan.latency, plan.cpu, not plan.side_by_side))


def _timed(costs: Costs, node: str, cores: int) -> bool:
    return any(t <= cores for t in costs.get(node, {}))


def _cost(costs: Costs, node: str, threads: int) -> float:
    table = costs.get(node)
    if not table:
        return 0.0
    if threads in table:
        return table[threads]
    below = [t for t in table if t <= threads]  # an unmeasured count: the nearest measured below
    return table[max(below)] if below else table[min(table)]


def _rated(
    sources: Mapping[str, set[str]], costs: Costs, threads: Mapping[str, int], side_by_side: bool
) -> Schedule:
    cost = {node: _cost(costs, node, threads[node]) for node in sources}
    latency = critical_path(sources, cost) if side_by_side else sum(cost.values())
    cpu = sum(cost[node] * threads[node] for node in sources)
    return Schedule(dict(threads), side_by_side, MEASURED, latency, cpu)


def critical_path(sources: Mapping[str, set[str]], cost: Mapping[str, float]) -> float:
    """The longest path's total cost (every node starts when its sources have finished)."""
    finish: dict[str, float] = {}

    def end(node: str) -> float:
        if node not in finish:
            finish[node] = cost[node] + max((end(s) for s in sources[node]), default=0.0)
        return finish[node]

    return max((end(node) for node in sources), default=0.0)


def _antichains(sources: Mapping[str, set[str]]) -> list[tuple[str, ...]]:
    """Every maximal set of nodes none of which waits for another."""
    after = {node: _reachable(node, sources) for node in sources}
    related = {(a, b) for a in sources for b in after[a]} | {
        (b, a) for a in sources for b in after[a]
    }
    nodes = sorted(sources)
    found: list[tuple[str, ...]] = []
    for size in range(len(nodes), 0, -1):
        for group in combinations(nodes, size):
            if any((a, b) in related for a, b in combinations(group, 2)):
                continue
            if not any(set(group) <= set(bigger) for bigger in found):
                found.append(group)
    return found


def _grow(
    sources: Mapping[str, set[str]],
    costs: Costs,
    cores: int,
    antichains: list[tuple[str, ...]],
) -> dict[str, int]:
    """Side-by-side threads: from one per node, add the move that shortens latency most."""
    threads = {node: 1 for node in sources}

    def fits(candidate: Mapping[str, int]) -> bool:
        return all(
            sum(candidate[n] for n in group) <= max(cores, len(group)) for group in antichains
        )

    def latency(candidate: Mapping[str, int]) -> float:
        return critical_path(sources, {n: _cost(costs, n, candidate[n]) for n in sources})

    best = latency(threads)
    moves = sum(len(costs.get(node, {})) for node in sources)
    for _ in range(moves):  # every move raises one node to a larger measured count: bounded
        move: Optional[tuple[float, dict[str, int]]] = None
        for node in sources:
            for more in sorted(t for t in costs.get(node, {}) if threads[node] < t <= cores):
                candidate = {**threads, node: more}
                if fits(candidate):
                    value = latency(candidate)
                    if value < best - 1e-12 and (move is None or value < move[0]):
                        move = (value, candidate)
        if move is None:
            break
        best, threads = move
    return threads
