"""Thread budgets: OpenVINO threads for the models of pipelines served as ensembles.

In an ensemble every model is its own stub process with its own OpenVINO thread pool, and
independent branches run side by side: two models that each take every core fight over them
(the issue's measurement: each branch 2.1 ms instead of 1.0 ms alone). Two schedules
(``--schedule``):

- ``measured`` (default): every model of an ensemble with parallel branches is timed at
  conversion with the thread counts that fit the cores (``model_cost.py``; a chain keeps every
  core per node and costs no conversion time), and each pipeline gets the side-by-side plan of
  least estimated latency that keeps throughput (``backend/schedule.py``: the critical path over
  the DAG with per-node cost(threads), nodes that can run together never holding more threads
  than cores); a slow branch may get more threads than a fast one. Ensembles cannot run their
  branches one after another, so that plan is not considered. A pipeline whose models could not
  all be measured keeps the even split.
- ``even``: a model gets ``cores // width`` threads, ``width`` being how many nodes of its
  pipeline can run at once.

A model used by several pipelines gets the smallest of its budgets. The model's own
``plugin_config`` (OVMS) wins: a model that sets its threads there is left alone, and so is a
model not on CPU. A pipeline model (``pipeline_model.py``) chooses its schedule itself when it
loads. The chosen budgets are logged at INFO.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Optional

from ovtriton.backend.pipeline_spec import dag_width
from ovtriton.backend.schedule import EVEN, MEASURED, SCHEDULES, even_schedule, plan_schedule

from . import model_cost
from .models import ConvertedModel
from .ovms import Pipeline

LOGGER = logging.getLogger(__name__)

PARAMETER = "INFERENCE_NUM_THREADS"
_OWN_THREAD_KEYS = ("INFERENCE_NUM_THREADS", "CPU_THREADS_NUM")

__all__ = ["EVEN", "MEASURED", "SCHEDULES", "apply_thread_budgets", "thread_budgets"]


def thread_budgets(
    pipelines: Iterable[Pipeline],
    cores: int,
    costs: Optional[Mapping[str, Mapping[int, float]]] = None,
) -> dict[str, int]:
    """Model name -> threads, for the models of ``pipelines`` on ``cores`` cores; with
    ``costs`` (model -> threads -> seconds) the measured schedule, else the even split."""
    budgets: dict[str, int] = {}
    for pipeline in pipelines:
        sources = _sources(pipeline)
        models = {node.name: node.model_name for node in pipeline.nodes if node.model_name}
        if (
            costs is not None
            and dag_width(sources) > 1
            and all(m in costs for m in models.values())
        ):
            node_costs = {node: costs[model] for node, model in models.items()}
            schedule = plan_schedule(sources, node_costs, cores, one_after_another=False)
        else:
            schedule = even_schedule(sources, cores)
        LOGGER.info("ensemble %s: %s", pipeline.name, schedule.describe())
        for node, model in models.items():
            budgets[model] = min(budgets.get(model, cores), schedule.threads[node])
    return budgets


def apply_thread_budgets(
    models: Mapping[str, ConvertedModel],
    pipelines: Iterable[Pipeline],
    cores: int,
    schedule: str = MEASURED,
) -> None:
    """Set ``INFERENCE_NUM_THREADS`` in the configs of the models that get a budget."""
    pipelines = list(pipelines)
    own = {name for name, model in models.items() if not _budgeted(model)}
    costs = None
    if schedule == MEASURED:  # chains keep every core per node: only parallel branches measured
        parallel = [p for p in pipelines if dag_width(_sources(p)) > 1]
        used = {n.model_name for p in parallel for n in p.nodes if n.model_name}
        costs = model_cost.measure_models(models, used - own, cores, _even_share(pipelines, cores))
        costs.update({name: {} for name in own})  # their threads are their own: cost unknown
    for name, threads in sorted(thread_budgets(pipelines, cores, costs).items()):
        model = models.get(name)
        if model is None or name in own:
            continue
        model.config.parameters[PARAMETER].string_value = str(threads)
        LOGGER.debug("model %s: %d OpenVINO thread(s) of %d cores", name, threads, cores)


def _budgeted(model: ConvertedModel) -> bool:
    """Whether the converter may set the model's threads (on CPU, none in plugin_config)."""
    entry = model.entry
    on_cpu = (entry.target_device or "CPU").strip().upper() == "CPU"
    return on_cpu and not any(key in entry.plugin_config for key in _OWN_THREAD_KEYS)


def _sources(pipeline: Pipeline) -> dict[str, set[str]]:
    names = {node.name for node in pipeline.nodes}
    return {
        node.name: {i.source.node_name for i in node.inputs if i.source.node_name in names}
        for node in pipeline.nodes
    }


def _even_share(pipelines: list[Pipeline], cores: int) -> int:
    return min((max(1, cores // dag_width(_sources(p))) for p in pipelines), default=cores)
