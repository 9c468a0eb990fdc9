"""The DAG a pipeline model runs: nodes, the tensors they read, and what the response reads.

``ovtriton convert --pipelines model`` writes it as ``<version>/pipeline.json`` next to the
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
is ``model`` or ``custom`` (a custom node library: ``"library"``, the .so's path relative to
the version folder, and ``"params"``, the node's params). OVMS's demultiplexing is carried as
``"demultiply_count"`` (on a node, or at the top level for the pipeline's entry; -1 = dynamic)
and ``"gather_from_node"`` on a node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from .errors import ModelLoadError

FORMAT = 1
REQUEST = "request"
NODE_KINDS = ("model", "custom")

Source = tuple[str, str]  # (node name or "request", alias or pipeline input)


@dataclass(frozen=True)
class NodeSpec:
    name: str
    kind: str
    model: str  # the served model it runs (kind "model"; "" for kind "custom")
    version: int
    inputs: Mapping[str, Source]  # node input name -> source
    outputs: Mapping[str, str]  # alias -> item the node produces
    library: str = ""  # kind "custom": the .so, relative to the pipeline's version folder
    params: Mapping[str, str] = field(default_factory=dict)  # kind "custom": the node's params
    demultiply: Optional[int] = None  # demultiply_count (-1 = dynamic), None = no demultiplexing
    gather: Optional[str] = None  # gather_from_node

    def sources(self) -> set[str]:
        """Names of the nodes this one waits for."""
        return {node for node, _ in self.inputs.values() if node != REQUEST}


@dataclass(frozen=True)
class PipelineSpec:
    inputs: tuple[str, ...]
    nodes: tuple[NodeSpec, ...]  # in an order where every node follows its sources
    outputs: Mapping[str, Source]  # response name -> source
    models: Mapping[str, Mapping[str, Any]]  # model name -> its Triton config (JSON form)
    demultiply: Optional[int] = None  # the entry's demultiply_count
    levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # see node_levels

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
            f"--pipelines model`, convert the OVMS config again"
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
        library, params = raw.get("library", ""), raw.get("params", {})
        if kind == "custom":
            if not isinstance(library, str) or not library:
                raise fail(f"{path}.library", "expected the library's path")
            if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
                raise fail(f"{path}.params", "expected an object of string params")
            model, version = "", 1
        else:
            if not isinstance(model, str) or model not in models:
                raise fail(f"{path}.model", f"model {model!r} has no config under $.models")
            raw_version = raw.get("version")
            if not isinstance(raw_version, int) or raw_version < 1:
                raise fail(
                    f"{path}.version", f"expected a version number >= 1, got {raw_version!r}"
                )
            version = raw_version
        demultiply = _count(raw.get("demultiply_count"), f"{path}.demultiply_count", fail)
        gather = raw.get("gather_from_node")
        if gather is not None and not isinstance(gather, str):
            raise fail(f"{path}.gather_from_node", f"expected a node name, got {gather!r}")
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
        nodes.append(
            NodeSpec(
                name,
                kind,
                model,
                version,
                sources,
                dict(outputs),
                library,
                dict(params),
                demultiply,
                gather,
            )
        )
        known[name] = set(outputs)
    raw_outputs = document.get("outputs")
    if not isinstance(raw_outputs, dict) or not raw_outputs:
        raise fail("$.outputs", "expected a non-empty object output name -> [node, alias]")
    outputs = {
        key: _source(value, known, f"$.outputs.{key}", fail) for key, value in raw_outputs.items()
    }
    entry = _count(document.get("demultiply_count"), "$.demultiply_count", fail)
    try:
        levels = node_levels(nodes, outputs, entry)
    except ValueError as exc:
        raise fail("$.nodes", str(exc)) from None
    return PipelineSpec(tuple(inputs), tuple(nodes), outputs, models, entry, levels)


def node_levels(
    nodes: list[NodeSpec], outputs: Mapping[str, Source], entry: Optional[int]
) -> dict[str, tuple[str, ...]]:
    """The demultiplexers open where each node runs (outermost first; ``"request"`` for the
    entry's), and under ``"response"`` those the response gathers. OVMS's rules: all inputs of a
    node come from one level, and ``gather_from_node`` names the innermost demultiplexer."""
    out: dict[str, tuple[str, ...]] = {REQUEST: (REQUEST,) if entry is not None else ()}
    levels: dict[str, tuple[str, ...]] = {}

    def common(where: str, sources: list[str]) -> tuple[str, ...]:
        found = {out[source] for source in sources} or {out[REQUEST]}
        if len(found) > 1:
            raise ValueError(
                f"{where} reads from different demultiplexing levels {sorted(found)}; OVMS "
                "needs every input of a node on one level (add gather_from_node)"
            )
        return found.pop()

    for node in nodes:
        level = common(f"node {node.name!r}", [source for source, _ in node.inputs.values()])
        if node.gather is not None:
            if not level or level[-1] != node.gather:
                raise ValueError(
                    f"node {node.name!r}: gather_from_node {node.gather!r} is not the innermost "
                    f"demultiplexer of its inputs (open: {list(level)}) (OVMS: Demultiplexer "
                    "and gather nodes are not in LIFO order)"
                )
            level = level[:-1]
        levels[node.name] = level
        out[node.name] = level + (node.name,) if node.demultiply is not None else level
    levels["response"] = common("the response", [source for source, _ in outputs.values()])
    return levels


def _count(value: Any, path: str, fail: Any) -> Optional[int]:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < -1 or value > 10_000:
        raise fail(path, f"expected a demultiply_count from -1 to 10000, got {value!r}")
    return -1 if value == 0 else value  # 0 meant dynamic until OVMS 2021.4


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
