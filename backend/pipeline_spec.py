"""The DAG a pipeline model runs: nodes, the tensors they read, and what the response reads.

``ovtriton convert --pipelines fused`` writes it as ``<version>/pipeline.json`` next to the
pipeline model's config.pbtxt (parameter ``PIPELINE`` names the file). The backend never
imports the converter: this module is the whole contract between the two.

    {"format": 1,
     "inputs": ["in"],
     "nodes": [{"name": "left", "kind": "model", "model": "add", "version": 1,
                "inputs": {"x": ["request", "in"]}, "outputs": {"out": "y"}}, ...],
     "outputs": {"sum": ["join", "total"]},
     "models": {"add": {<the model's config, as Triton passes it to initialize>}}}

A source ``[node, alias]`` names a node's output by its alias (``["request", input]`` for a
pipeline input); a node's ``outputs`` map each alias to the item the node produces. ``kind``
is ``model`` today; other kinds (custom node libraries) add a loader, not a new format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .errors import ModelLoadError

FORMAT = 1
REQUEST = "request"
NODE_KINDS = ("model",)

Source = tuple[str, str]  # (node name or "request", alias or pipeline input)


@dataclass(frozen=True)
class NodeSpec:
    name: str
    kind: str
    model: str  # the served model it runs (kind "model")
    version: int
    inputs: Mapping[str, Source]  # node input name -> source
    outputs: Mapping[str, str]  # alias -> item the node produces

    def sources(self) -> set[str]:
        """Names of the nodes this one waits for."""
        return {node for node, _ in self.inputs.values() if node != REQUEST}


@dataclass(frozen=True)
class PipelineSpec:
    inputs: tuple[str, ...]
    nodes: tuple[NodeSpec, ...]  # in an order where every node follows its sources
    outputs: Mapping[str, Source]  # response name -> source
    models: Mapping[str, Mapping[str, Any]]  # model name -> its Triton config (JSON form)

    def width(self) -> int:
        """How many nodes can run at the same time at most."""
        return dag_width({node.name: node.sources() for node in self.nodes})


def dag_width(sources: Mapping[str, set[str]]) -> int:
    """The largest set of nodes none of which waits for another (the DAG's largest antichain):
    node count minus a maximum matching of "a runs before b" (Dilworth, by Fulkerson)."""
    after = {name: _reachable(name, sources) for name in sources}
    match: dict[str, str] = {}

    def augment(left: str, seen: set[str]) -> bool:
        for right in after[left]:
            if right not in seen:
                seen.add(right)
                if right not in match or augment(match[right], seen):
                    match[right] = left
                    return True
        return False

    return max(1, len(sources) - sum(augment(name, set()) for name in sources))


def parse_spec(document: Any, where: str) -> PipelineSpec:
    """Check ``document`` (the parsed JSON); errors name ``where`` and the field's JSON path."""

    def fail(path: str, problem: str) -> ModelLoadError:
        return ModelLoadError(
            f"{where}: {path}: {problem}; the file is written by `ovtriton convert "
            f"--pipelines fused`, convert the OVMS config again"
        )

    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise fail("$.format", f"expected a pipeline description of format {FORMAT}")
    inputs = document.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise fail("$.inputs", "expected a list of input names")
    models = document.get("models")
    if not isinstance(models, dict):
        raise fail("$.models", "expected an object of model configs")
    raw_nodes = document.get("nodes")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise fail("$.nodes", "expected a non-empty list of nodes")
    known: dict[str, set[str]] = {REQUEST: set(inputs)}
    nodes = []
    for index, raw in enumerate(raw_nodes):
        path = f"$.nodes[{index}]"
        if not isinstance(raw, dict):
            raise fail(path, "expected an object")
        name, kind, model = raw.get("name"), raw.get("kind"), raw.get("model")
        if not isinstance(name, str) or not name or name in known:
            raise fail(f"{path}.name", f"missing or repeated node name {name!r}")
        if kind not in NODE_KINDS:
            raise fail(f"{path}.kind", f"node kind {kind!r} is not one of {NODE_KINDS}")
        if not isinstance(model, str) or model not in models:
            raise fail(f"{path}.model", f"model {model!r} has no config under $.models")
        version = raw.get("version")
        if not isinstance(version, int) or version < 1:
            raise fail(f"{path}.version", f"expected a version number >= 1, got {version!r}")
        outputs = raw.get("outputs")
        if not isinstance(outputs, dict) or not all(isinstance(v, str) for v in outputs.values()):
            raise fail(f"{path}.outputs", "expected an object alias -> output name")
        node_inputs = raw.get("inputs")
        if not isinstance(node_inputs, dict):
            raise fail(f"{path}.inputs", "expected an object input name -> [node, alias]")
        sources = {
            key: _source(value, known, f"{path}.inputs.{key}", fail)
            for key, value in node_inputs.items()
        }
        nodes.append(NodeSpec(name, kind, model, version, sources, dict(outputs)))
        known[name] = set(outputs)
    raw_outputs = document.get("outputs")
    if not isinstance(raw_outputs, dict) or not raw_outputs:
        raise fail("$.outputs", "expected a non-empty object output name -> [node, alias]")
    outputs = {
        key: _source(value, known, f"$.outputs.{key}", fail) for key, value in raw_outputs.items()
    }
    return PipelineSpec(tuple(inputs), tuple(nodes), outputs, models)


def _source(value: Any, known: Mapping[str, set[str]], path: str, fail: Any) -> Source:
    if not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, str) for v in value):
        raise fail(path, f"expected [node, alias], got {value!r}")
    node, alias = value
    if node not in known or alias not in known[node]:
        raise fail(path, f"{node}:{alias} is not a pipeline input or an earlier node's output")
    return node, alias


def _reachable(start: str, sources: Mapping[str, set[str]]) -> set[str]:
    """Nodes that run after ``start`` (read its outputs, directly or not)."""
    reached: set[str] = set()
    frontier = {start}
    while frontier:
        frontier = {name for name, read in sources.items() if read & frontier} - reached
        reached |= frontier
    return reached
