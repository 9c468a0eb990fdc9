"""What each node of a pipeline takes and gives: a served model's tensors or a custom node
library's (``libraries.py``), in one form, so every check reads every node the same way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ovtriton.backend.signature import Bound
from ovtriton.backend.tensors import TensorSpec

from ..errors import Problems
from ..models import ConvertedModel
from ..ovms import Node

ANY = ""  # the datatype of a library tensor whose precision is UNSPECIFIED (fits any)


@dataclass(frozen=True)
class NodeIO:
    """One node's tensors by (mapped) name; ``bounds``: the (min, max) of each dimension where
    known (a model's shape ranges); a ``-1`` dim without bounds fits any size."""

    label: str  # "model 'm'" or "library 'lib' of node 'n'": what messages name
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    model: ConvertedModel | None = None  # a model node's model
    library: Path | None = None  # a custom node's .so
    bounds: Mapping[str, tuple[Bound, ...]] = field(default_factory=dict, compare=False)

    def input(self, name: str) -> TensorSpec | None:
        return next((spec for spec in self.inputs if spec.name == name), None)

    def output(self, name: str) -> TensorSpec | None:
        return next((spec for spec in self.outputs if spec.name == name), None)

    def bounds_of(self, spec: TensorSpec) -> tuple[Bound, ...]:
        """The (min, max) of each dimension of one of this node's tensors."""
        known = self.bounds.get(spec.name)
        return known or tuple((0, None) if d == -1 else (d, d) for d in spec.shape)


def model_io(model: ConvertedModel) -> NodeIO:
    return NodeIO(
        f"model {model.entry.name!r}", model.inputs, model.outputs, model, bounds=model.bounds
    )


def model_of(
    node: Node,
    models: Mapping[str, ConvertedModel],
    declared: Mapping[str, tuple[str, ...]],
    problems: Problems,
) -> ConvertedModel | None:
    """The model a node runs, or None after reporting why it cannot."""
    if node.model_name is None:  # a custom node, or model_name unreadable (reported already)
        return None
    model = models.get(node.model_name)
    if model is None:  # unless it is declared, and its problems were reported
        problems.add(
            f"{node.path}.model_name",
            f"no model named {node.model_name!r}",
            f"define it in model_config_list; known models: {sorted(models)}",
            unless=declared.get(node.model_name, ()),
        )
        return None
    if node.version is not None and node.version not in model.versions:
        problems.add(
            f"{node.path}.version",
            f"model {model.entry.name!r} does not serve version {node.version}",
            f"served versions: {list(model.versions)}",
        )
        return None
    if model.entry.uses_auto:
        problems.add(
            f"{node.path}.model_name",
            f"model {model.entry.name!r} sets batch_size or shape "
            "to 'auto', which OVMS forbids in pipelines",
            "use dynamic dimensions (-1) instead",
        )
        return None
    return model
