"""Pipeline graph rules: cycles, reachability of the response, the nodes in running order,
and merging what the consumers of each pipeline input take."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet

from ovtriton.backend.dtypes import short_name
from ovtriton.backend.signature import Bound, bounds_text, dims_of, intersect
from ovtriton.backend.tensors import TensorSpec

from ..errors import Problems
from ..ovms import Node, Pipeline
from .nodes import ANY

Consumer = tuple[str, TensorSpec, tuple[Bound, ...]]  # JSON path, model input, its sizes
PASSTHROUGH_DEFAULT = ("TYPE_FP32", (-1,))  # an input only the response reads: any FP32 vector


def in_order(nodes: tuple[Node, ...]) -> list[Node]:
    """The nodes with every node after the nodes it reads (the config may list them anyhow)."""
    by_name = {node.name: node for node in nodes}
    ordered: list[Node] = []
    placed: set[str] = set()

    def place(node: Node) -> None:
        if node.name in placed:
            return
        placed.add(node.name)
        for item in node.inputs:
            if item.source.node_name in by_name:
                place(by_name[item.source.node_name])
        ordered.append(node)

    for node in nodes:
        place(node)
    return ordered


def check_graph(
    pipeline: Pipeline,
    nodes: Mapping[str, Node],
    depends: Mapping[str, set[str]],
    problems: Problems,
    reachability: bool,
) -> None:
    """Cycles; and, unless a connection is already broken (no echo problems), reachability."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    reported: set[frozenset[str]] = set()

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in sorted(depends.get(name, ())):
            if state.get(dep) == 1:
                cycle = path[path.index(dep) :] + [dep] if dep in path else [name, dep]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    problems.add(
                        nodes[name].path,
                        "nodes form a cycle: " + " -> ".join(reversed(cycle)),
                        "a pipeline must be acyclic; remove one of these connections",
                    )
            elif dep not in state:
                visit(dep, path + [dep])
        state[name] = 2

    for name in nodes:
        if name not in state:
            visit(name, [name])
    if not reachability:
        return
    reaching: set[str] = set()
    stack = [o.source.node_name for o in pipeline.outputs if o.source.node_name in nodes]
    while stack:
        name = stack.pop()
        if name not in reaching:
            reaching.add(name)
            stack.extend(depends.get(name, ()))
    for name, node in nodes.items():
        if name not in reaching:
            problems.add(
                node.path,
                f"node {name!r} does not lead to the response",
                "use its outputs in a pipeline output or another node, or remove it",
            )


def merge_inputs(
    pipeline: Pipeline,
    consumers: Mapping[str, list[Consumer]],
    passed: AbstractSet[str],
    problems: Problems,
    shapes: bool = True,
) -> tuple[TensorSpec, ...]:
    """The ensemble inputs: each pipeline input with the type and shape its consumers agree on.

    ``passed`` are inputs the response reads directly; with no node to take a type from they
    get ``PASSTHROUGH_DEFAULT`` (OVMS accepts anything there; Triton needs one type and rank).
    Without ``shapes`` only the types must agree (a pipeline with unsupported features).
    """
    specs = []
    read = {  # by any node, also one without a model (a custom node, or one with a problem)
        item.source.data_item
        for node in pipeline.nodes
        for item in node.inputs
        if item.source.node_name == "request"
    }
    for name in dict.fromkeys(pipeline.inputs):
        uses = consumers.get(name)
        if not uses and name in read and name not in passed:
            continue  # its consumers' problems are reported; "not used" would be false
        if not uses and name in passed:
            default_type, default_shape = PASSTHROUGH_DEFAULT
            problems.warn(
                f"{pipeline.path}.inputs",
                f"input {name!r} only goes to the response, so nothing gives its type and "
                f"shape; declared {short_name(default_type)} {list(default_shape)}",
                "connect it to a node as well to take that node's type and shape, or edit "
                "the ensemble's config.pbtxt (and use the matching _ovtriton_identity model)",
            )
            specs.append(TensorSpec(name, default_type, default_shape))
            continue
        if not uses:
            problems.warn(
                f"{pipeline.path}.inputs",
                f"input {name!r} is not used; dropped",
                "Triton refuses unused ensemble inputs (OVMS hides them from metadata)",
            )
            continue
        first_path, first, first_bounds = uses[0]
        bounds: tuple[Bound, ...] | None = first_bounds
        datatype = first.datatype
        for path, spec, spec_bounds in uses[1:]:
            merged = intersect(bounds, spec_bounds) if bounds is not None else None
            if (
                ANY not in (spec.datatype, datatype)
                and spec.datatype != datatype
                or (merged is None and shapes)
            ):
                problems.add(
                    path,
                    f"pipeline input {name!r} feeds {first_path} with "
                    f"{short_name(first.datatype)} {bounds_text(first_bounds)} and here "
                    f"{short_name(spec.datatype)} {bounds_text(spec_bounds)}",
                    "inputs that share a pipeline input must agree on type and shape "
                    "(OVMS: PIPELINE_INPUTS_AMBIGUOUS_METADATA)",
                )
                break
            bounds = merged
            datatype = datatype or spec.datatype
        if bounds is not None and datatype == ANY:
            problems.add(
                f"{pipeline.path}.inputs",
                f"input {name!r}: no node gives it a precision",
                "connect it to a model, or to a library input with a precision (OVMS takes "
                "it from getInputsInfo or from a connected model)",
            )
        elif bounds is not None:
            specs.append(TensorSpec(name, datatype, dims_of(bounds)))
    return tuple(specs)
