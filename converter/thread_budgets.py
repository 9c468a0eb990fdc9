"""Thread budgets: OpenVINO threads for the models of pipelines served as ensembles.

In an ensemble every model is its own stub process with its own OpenVINO thread pool, and
independent branches run side by side: two models that each take every core fight over them
(the issue's measurement: each branch 2.1 ms instead of 1.0 ms alone). So a model gets
``cores // width`` threads, ``width`` being how many nodes of its pipeline can run at once
(the smallest share when several pipelines use it). The model's own ``plugin_config`` (OVMS)
wins: a model that sets its threads there is left alone, and so is a model not on CPU. A
pipeline model (``pipeline_model.py``) does the same split itself when it loads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from ovtriton.backend.pipeline_spec import dag_width

from .models import ConvertedModel
from .ovms import Pipeline

LOGGER = logging.getLogger(__name__)

PARAMETER = "INFERENCE_NUM_THREADS"
_OWN_THREAD_KEYS = ("INFERENCE_NUM_THREADS", "CPU_THREADS_NUM")


def thread_budgets(pipelines: Iterable[Pipeline], cores: int) -> dict[str, int]:
    """Model name -> threads, for the models of ``pipelines`` on ``cores`` cores."""
    budgets: dict[str, int] = {}
    for pipeline in pipelines:
        names = {node.name for node in pipeline.nodes}
        sources = {
            node.name: {i.source.node_name for i in node.inputs if i.source.node_name in names}
            for node in pipeline.nodes
        }
        threads = max(1, cores // dag_width(sources))
        for node in pipeline.nodes:
            if node.model_name:
                budgets[node.model_name] = min(budgets.get(node.model_name, cores), threads)
    return budgets


def apply_thread_budgets(
    models: Mapping[str, ConvertedModel], pipelines: Iterable[Pipeline], cores: int
) -> None:
    """Set ``INFERENCE_NUM_THREADS`` in the configs of the models that get a budget."""
    for name, threads in sorted(thread_budgets(pipelines, cores).items()):
        model = models.get(name)
        if model is None:
            continue
        entry = model.entry
        on_cpu = (entry.target_device or "CPU").strip().upper() == "CPU"
        if not on_cpu or any(key in entry.plugin_config for key in _OWN_THREAD_KEYS):
            continue
        model.config.parameters[PARAMETER].string_value = str(threads)
        LOGGER.debug("model %s: %d OpenVINO thread(s) of %d cores", name, threads, cores)
