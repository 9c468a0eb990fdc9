"""What the bench runs: a generated OVMS config, its converted repository and the pipeline's DAG.

The user's OVMS config is copied with absolute ``base_path``s and two changes, then converted
with ``ovtriton convert``'s own library, so every mode serves exactly what a user would:

- every model without ``shape``/``batch_size`` gets ``batch_size: "1:B"``, which the converter
  turns into ``max_batch_size: B`` + ``dynamic_batching`` (the seed's IRs are static batch 1 and
  reshape to a dynamic batch, so batch B needs no other IR);
- the pipeline's models are copied as ``<model>__1t`` with ``INFERENCE_NUM_THREADS: 1`` and the
  pipeline as ``<pipeline>__1t`` (the one-thread check), served by the same server;
- the pipeline is copied as ``<pipeline>__model``, converted as a pipeline model
  (``convert --pipeline-model`` for that one), next to the ensemble.

It is converted with thread budgets for this machine's cores, as ``ovtriton convert`` does.

The DAG (steps, their input and output maps) is read back from the generated ensemble config, so
the in-process and client-chaining modes walk the very graph Triton's ensemble walks.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf import json_format, text_format
from tritonclient.grpc import model_config_pb2
from tritonclient.utils import triton_to_np_dtype

from ovtriton.backend.errors import first_line
from ovtriton.converter.options import ConversionOptions
from ovtriton.converter.ovms import OvmsConfig
from ovtriton.errors import UserError

LOGGER = logging.getLogger(__name__)

ONE_THREAD = "__1t"
PIPELINE_MODEL = "__model"


@dataclass(frozen=True)
class Step:
    """One ensemble step: model tensor -> ensemble tensor maps."""

    model: str
    input_map: tuple[tuple[str, str], ...]  # (model input, ensemble tensor)
    output_map: tuple[tuple[str, str], ...]  # (model output, ensemble tensor)


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: str  # Triton spelling without TYPE_, e.g. FP32
    dims: tuple[int, ...]

    def shape(self, batch: int) -> tuple[int, ...]:
        """Concrete shape: a leading -1 (or 1) is the batch, other -1s become 1."""
        dims = list(self.dims) or [1]
        if dims[0] in (-1, 1):
            dims[0] = batch
        return tuple(1 if d == -1 else d for d in dims)

    def random(self, batch: int, rng: np.random.Generator) -> np.ndarray:
        dtype = np.dtype(triton_to_np_dtype(self.dtype))
        if dtype.kind == "f":
            return (rng.random(self.shape(batch)) * 255).astype(dtype)
        return rng.integers(0, 10, self.shape(batch)).astype(dtype)


@dataclass(frozen=True)
class Dag:
    """A pipeline as Triton's generated ensemble sees it."""

    name: str
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    steps: tuple[Step, ...]

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(step.model for step in self.steps))

    def branches(self) -> tuple[str, ...]:
        """Models fed by the pipeline inputs alone: the parallel branches."""
        public = {t.name for t in self.inputs}
        return tuple(s.model for s in self.steps if all(v in public for _, v in s.input_map))

    def sample(self, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        return {t.name: t.random(batch, rng) for t in self.inputs}


@dataclass(frozen=True)
class Workload:
    repository: Path  # converted Triton repository
    dag: Dag  # the pipeline
    dag_1t: Dag | None  # the pipeline on one-thread copies of its models
    pipeline_model: str  # the pipeline model's name (same inputs and outputs as ``dag``)
    max_batch: int  # largest batch every model accepts (1 = no batching)
    configs: dict[str, dict[str, Any]]  # model name -> config as Triton hands it to the backend


def bench_document(
    document: dict[str, Any], config: OvmsConfig, config_dir: Path, pipeline: str, batch: int
) -> dict:
    """The user's OVMS document with absolute paths, batch ranges and one-thread copies.

    ``config`` is ``document`` as the converter read it (every problem already refused), so
    every value comes from there; the raw document is only copied and written to, keeping the
    fields the bench does not touch exactly as the user wrote them.
    """
    names = [p.name for p in config.pipelines]
    if pipeline not in names:
        raise UserError(f"pipeline {pipeline!r} is not in the config; it has {names}")
    chosen = config.pipelines[names.index(pipeline)]
    used = {node.model_name for node in chosen.nodes}
    doc = copy.deepcopy(document)
    copies = []
    for item, entry in zip(doc["model_config_list"], config.models):
        raw = item["config"]
        base = Path(entry.base_path).expanduser()
        raw["base_path"] = str(base if base.is_absolute() else (config_dir / base).resolve())
        if batch > 1 and entry.shape is None and entry.batch_size is None:
            raw["batch_size"] = f"1:{batch}"
        if entry.name in used:
            single = copy.deepcopy(raw)
            single["name"] = entry.name + ONE_THREAD
            single["plugin_config"] = {**entry.plugin_config, "INFERENCE_NUM_THREADS": 1}
            copies.append({"config": single})
    doc["model_config_list"] = doc["model_config_list"] + copies
    original = doc["pipeline_config_list"][names.index(pipeline)]
    single_pipe = copy.deepcopy(original)
    single_pipe["name"] = pipeline + ONE_THREAD
    for raw_node, node in zip(single_pipe["nodes"], chosen.nodes):
        raw_node["model_name"] = f"{node.model_name}{ONE_THREAD}"
    as_model = copy.deepcopy(original)
    as_model["name"] = pipeline + PIPELINE_MODEL
    doc["pipeline_config_list"] = [original, single_pipe, as_model]
    return doc


def prepare(
    config: Path,
    pipeline: str,
    work: Path,
    batch: int,
    options: ConversionOptions = ConversionOptions(),
) -> Workload:
    """Write the bench config under ``work`` and convert it with ``options``; batch ``batch``
    if the models allow. The bench's pipeline-model copy of ``pipeline`` is always one."""
    from ovtriton.converter import ConfigError, convert, read_config  # protobuf-heavy
    from ovtriton.converter.schema import load_document

    config = config.resolve()
    parsed = read_config(config)  # every problem of the config, with its JSON path (exit 1)
    document = load_document(config)
    work.mkdir(parents=True, exist_ok=True)
    summary = None
    for size in dict.fromkeys((batch, 1)):
        path = work / "bench_config.json"
        path.write_text(
            json.dumps(bench_document(document, parsed, config.parent, pipeline, size), indent=1)
        )
        try:
            summary = convert(
                path,
                work / "triton",
                options=dataclasses.replace(
                    options, pipeline_models=options.pipeline_models | {pipeline + PIPELINE_MODEL}
                ),
                force=True,
            )
            break
        except ConfigError as exc:
            if size == 1:
                raise UserError(
                    f"the bench config derived from {config} does not convert:\n{exc}"
                ) from None
            LOGGER.warning(
                "batch %d: the models do not take batch_size 1:%d (%s); benching batch 1 only",
                size,
                size,
                first_line(exc),
            )
    assert summary is not None
    configs = {m.name: _config(m.config_text) for m in summary.plan.models}
    dag = dag_of(configs, pipeline)
    single = pipeline + ONE_THREAD
    max_batch = min(int(configs[m].get("max_batch_size", 0)) or 1 for m in dag.models)
    return Workload(
        summary.out_dir,
        dag,
        dag_of(configs, single) if single in configs else None,
        pipeline + PIPELINE_MODEL,
        max_batch,
        configs,
    )


def dag_of(configs: dict[str, dict[str, Any]], pipeline: str) -> Dag:
    config = configs[pipeline]
    steps = tuple(
        Step(
            s["model_name"],
            tuple(s.get("input_map", {}).items()),
            tuple(s.get("output_map", {}).items()),
        )
        for s in config["ensemble_scheduling"]["step"]
    )
    return Dag(
        pipeline, _tensors(config.get("input", [])), _tensors(config.get("output", [])), steps
    )


def _tensors(items: list[dict[str, Any]]) -> tuple[Tensor, ...]:
    return tuple(
        Tensor(
            t["name"],
            t["data_type"].removeprefix("TYPE_"),
            tuple(int(d) for d in t.get("dims", [])),
        )
        for t in items
    )


def _config(text: str) -> dict[str, Any]:
    """config.pbtxt -> the JSON form Triton passes to a Python backend's ``initialize``."""
    message = text_format.Parse(text, model_config_pb2.ModelConfig())
    config = json_format.MessageToDict(message, preserving_proto_field_name=True)
    for tensor in config.get("input", []) + config.get("output", []):
        if "reshape" in tensor:  # Triton writes the empty reshape (a scalar) as {"shape": []}
            tensor["reshape"].setdefault("shape", [])
    return config
