"""OVMS's demultiplexing and gathering, as pure NumPy functions for the pipeline model.

A *branch* names one sub-request: the demultiplexers it went through, outermost first, each with
the shard index and the shard count (``()`` is the whole request). ``demultiply`` splits a node's
outputs along dim 0 into one branch per shard; ``gather`` joins the branches of the innermost
demultiplexers again, *prepending* one dimension per joined demultiplexer, outermost first
(OVMS's ``docs/demultiplexing.md``; shard order as OVMS's ``NodeSessionMetadata::getShardId``).
The runtime checks, their order and their texts follow OVMS's ``Node::demultiplyOutputs`` and
``GatherNodeInputHandler``; ``DemultiplexError.status`` is OVMS's status name.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import BackendError

DYNAMIC = -1  # demultiply_count: -1, the count is dim 0 of the outputs at run time
LIMIT = 10_000  # OVMS's DEMULTIPLY_LIMIT
MIN_RANK = 3  # OVMS's code needs rank >= 3 (its docs say 2)

_TEXTS = {
    "PIPELINE_TOO_LARGE_DIMENSION_SIZE_TO_DEMULTIPLY": (
        "Too large dynamic demultiplication requested."
    ),
    "PIPELINE_WRONG_NUMBER_OF_DIMENSIONS_TO_DEMULTIPLY": (
        "Wrong number of dimensions in a tensor to be sharded"
    ),
    "PIPELINE_WRONG_DIMENSION_SIZE_TO_DEMULTIPLY": (
        "Wrong dimension size. Should match demultiply count"
    ),
    "PIPELINE_DEMULTIPLEXER_NO_RESULTS": (
        "Pipeline execution aborted due to no content from custom node"
    ),
    "PIPELINE_INCONSISTENT_SHARD_DIMENSIONS": "Gathered tensor shards dimensions are different",
    "PIPELINE_WRONG_DEMULTIPLEXER_GATHER_NODES_ORDER": (
        "Demultiplexer and gather nodes are not in LIFO order"
    ),
    "PIPELINE_NODE_GATHER_FROM_NOT_DEMULTIPLEXER": (
        "Gather node refers to node that isn't demultiplexer"
    ),
}

# OVMS answers PIPELINE_DEMULTIPLEXER_NO_RESULTS with gRPC ABORTED; the others fall through its
# gRPC table to UNKNOWN.
GRPC_CODES = {"PIPELINE_DEMULTIPLEXER_NO_RESULTS": "ABORTED"}


class DemultiplexError(BackendError):
    """A request whose data does not fit the pipeline's demultiplexing: ``status`` is OVMS's
    status name, ``grpc_code`` the gRPC code OVMS answers with; the message starts with OVMS's
    text and then says where (node, tensor) and what was found."""

    def __init__(self, status: str, detail: str) -> None:
        super().__init__(f"{_TEXTS[status]}: {detail}")
        self.status = status
        self.grpc_code = GRPC_CODES.get(status, "UNKNOWN")


@dataclass(frozen=True)
class Level:
    """One demultiplexing a branch went through: shard ``index`` of ``size`` made by ``node``."""

    node: str
    index: int
    size: int


Branch = tuple[Level, ...]
Tensors = Mapping[str, np.ndarray]


def demultiply(
    node: str, outputs: Tensors, count: int, branch: Branch = ()
) -> list[tuple[Branch, dict[str, np.ndarray]]]:
    """Split every output of ``node`` (``demultiply_count: count``, ``DYNAMIC`` for -1) along
    dim 0: one sub-request per shard, each output without dim 0 (a view, no copy). Use
    ``node="request"`` for the pipeline's entry (pipeline-level ``demultiply_count``)."""
    if not outputs:
        raise ValueError(f"node {node!r}: nothing to demultiply")
    first_name, first = next(iter(outputs.items()))
    shards = first.shape[0] if first.ndim else 0
    if shards > LIMIT:
        raise DemultiplexError(
            "PIPELINE_TOO_LARGE_DIMENSION_SIZE_TO_DEMULTIPLY",
            f"node {node!r} output {first_name!r} has dim 0 = {shards}; at most {LIMIT}",
        )
    for name, tensor in outputs.items():
        where = f"node {node!r} output {name!r} of shape {list(tensor.shape)}"
        if tensor.dtype.kind in "OSU":
            raise ValueError(f"{where}: string tensors cannot be demultiplexed")
        if tensor.ndim < MIN_RANK:
            raise DemultiplexError(
                "PIPELINE_WRONG_NUMBER_OF_DIMENSIONS_TO_DEMULTIPLY",
                f"{where}: a demultiplexer's outputs need at least {MIN_RANK} dimensions",
            )
        wanted = shards if count == DYNAMIC else count
        if tensor.shape[0] != wanted:
            origin = "demultiply_count" if count != DYNAMIC else f"dim 0 of {first_name!r}"
            raise DemultiplexError(
                "PIPELINE_WRONG_DIMENSION_SIZE_TO_DEMULTIPLY",
                f"{where}: dim 0 must be {wanted} ({origin}); make the node produce that "
                "many or fix demultiply_count",
            )
        if shards == 0:
            raise DemultiplexError(
                "PIPELINE_DEMULTIPLEXER_NO_RESULTS",
                f"{where}: the dynamic demultiplexer got 0 shards",
            )
    return [
        (branch + (Level(node, i, shards),), {name: t[i] for name, t in outputs.items()})
        for i in range(shards)
    ]


def gather(
    results: Iterable[tuple[Branch, Tensors]], nodes: Collection[str]
) -> list[tuple[Branch, dict[str, np.ndarray]]]:
    """Join the sub-results of the demultiplexers ``nodes`` (``gather_from_node``, or at the
    response every demultiplexer left): they must be the innermost levels of every branch (LIFO).
    Each joined tensor gets the shard counts prepended, outermost demultiplexer first. Returns
    one result per outer branch, in shard order."""
    wanted = set(nodes)
    groups: dict[Branch, dict[tuple[int, ...], Tensors]] = {}
    sizes: dict[Branch, tuple[int, ...]] = {}
    for branch, tensors in results:
        outer, inner = _split(branch, wanted)
        groups.setdefault(outer, {})[tuple(level.index for level in inner)] = tensors
        sizes[outer] = tuple(level.size for level in inner)
    return [
        (outer, _stack(shards, sizes[outer]))
        for outer, shards in sorted(groups.items(), key=lambda item: _order(item[0]))
    ]


def gather_all(results: Iterable[tuple[Branch, Tensors]]) -> dict[str, np.ndarray]:
    """The pipeline's response: every demultiplexer that is still open is gathered there."""
    results = list(results)
    if not results:
        raise ValueError("no results to gather")
    open_levels = {level.node for level in results[0][0]}
    if not open_levels:
        return dict(results[0][1])
    ((_, tensors),) = gather(results, open_levels)
    return tensors


def gathered_dims(dims: Sequence[int], counts: Sequence[int]) -> tuple[int, ...]:
    """A sub-result's dims once the demultiplexers of ``counts`` (their ``demultiply_count``,
    outermost first) are gathered: one leading dim each, -1 where the count is dynamic."""
    return tuple(-1 if count == DYNAMIC else count for count in counts) + tuple(dims)


def _split(branch: Branch, nodes: set[str]) -> tuple[Branch, Branch]:
    present = {level.node for level in branch}
    missing = sorted(nodes - present)
    if missing:
        raise DemultiplexError(
            "PIPELINE_NODE_GATHER_FROM_NOT_DEMULTIPLEXER",
            f"{', '.join(map(repr, missing))} did not demultiplex this sub-request "
            f"(its demultiplexers: {[level.node for level in branch]})",
        )
    cut = len(branch) - len(nodes)
    outer, inner = branch[:cut], branch[cut:]
    if {level.node for level in inner} != nodes:
        raise DemultiplexError(
            "PIPELINE_WRONG_DEMULTIPLEXER_GATHER_NODES_ORDER",
            f"gathering {sorted(nodes)} needs them innermost, but the demultiplexers are "
            f"{[level.node for level in branch]} (outermost first); gather "
            f"{inner[-1].node!r} first",
        )
    return outer, inner


def _order(branch: Branch) -> tuple[int, ...]:
    return tuple(level.index for level in branch)


def _stack(shards: dict[tuple[int, ...], Tensors], sizes: tuple[int, ...]) -> dict[str, np.ndarray]:
    expected = list(itertools.product(*(range(size) for size in sizes)))
    missing = [index for index in expected if index not in shards]
    if missing or len(shards) != math.prod(sizes):
        raise ValueError(f"gathering {sizes} shards: shards {missing} are missing")
    first = shards[expected[0]]
    joined: dict[str, np.ndarray] = {}
    for name, tensor in first.items():
        out = np.empty(sizes + tensor.shape, tensor.dtype)
        for index in expected:
            shard = shards[index].get(name)
            if shard is None:
                raise ValueError(f"gathering {name!r}: shard {index} lacks it")
            if shard.shape != tensor.shape or shard.dtype != tensor.dtype:
                raise DemultiplexError(
                    "PIPELINE_INCONSISTENT_SHARD_DIMENSIONS",
                    f"tensor {name!r}: shard {list(expected[0])} is {tensor.dtype} "
                    f"{list(tensor.shape)}, shard {list(index)} is {shard.dtype} "
                    f"{list(shard.shape)}",
                )
            out[index] = shard
        joined[name] = out
    return joined
