"""The parts of an OVMS config.json that ovtriton translates, as frozen dataclasses.

``schema.py`` builds these from the raw document after checking it; every instance carries the
JSON path it came from, so later checks can point at the exact place in the user's file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Union

ShapeSpec = str  # "(1,3,224,224)", "(-1,3,224:448,224)" or "auto"
PluginValue = Union[str, int, float, bool]


@dataclass(frozen=True)
class VersionPolicy:
    """``model_version_policy``: ``latest`` N highest versions, ``all``, or ``specific`` ones."""

    kind: str = "latest"  # "latest" | "all" | "specific"
    num_versions: int = 1
    versions: tuple[int, ...] = ()


@dataclass(frozen=True)
class ModelEntry:
    """One ``model_config_list[i].config``."""

    path: str  # JSON path of the ``config`` object
    name: str
    base_path: str
    batch_size: str | None = None  # "8", "-1", "1:8", "auto" (ints are stringified)
    shape: ShapeSpec | Mapping[str, ShapeSpec] | None = None
    layout: str | Mapping[str, str] | None = None
    version_policy: VersionPolicy = VersionPolicy()
    nireq: int = 0
    target_device: str | None = None  # None = field absent
    plugin_config: Mapping[str, PluginValue] = field(default_factory=dict)
    allow_cache: bool = False

    @property
    def uses_auto(self) -> bool:
        """``auto`` batch size or shape: OVMS forbids such models inside pipelines."""
        shapes = self.shape.values() if isinstance(self.shape, Mapping) else [self.shape]
        return self.batch_size == "auto" or "auto" in shapes


@dataclass(frozen=True)
class Source:
    """Where a node input comes from: ``request`` (a pipeline input) or a node's output alias."""

    path: str
    node_name: str
    data_item: str


@dataclass(frozen=True)
class NodeInput:
    path: str
    input_name: str  # the model's (mapped) input name
    source: Source


@dataclass(frozen=True)
class NodeOutput:
    path: str
    data_item: str  # the model's (mapped) output name
    alias: str


@dataclass(frozen=True)
class Node:
    """One node of a pipeline: a ``DL model`` or a ``custom`` node (``library_name``)."""

    path: str
    name: str
    model_name: str | None  # None for a custom node, or when model_name could not be read
    version: int | None
    inputs: tuple[NodeInput, ...]
    outputs: tuple[NodeOutput, ...]
    library_name: str | None = None  # a custom node's library
    params: Mapping[str, str] = field(default_factory=dict)  # a custom node's params
    demultiply_count: int | None = None  # -1 = dynamic
    gather_from_node: str | None = None

    @property
    def needs_pipeline_model(self) -> bool:
        """A custom node, a demultiplexer or a gather: only a pipeline model runs it."""
        return (
            self.library_name is not None
            or self.demultiply_count is not None
            or self.gather_from_node is not None
        )


@dataclass(frozen=True)
class PipelineOutput:
    path: str
    name: str
    source: Source


@dataclass(frozen=True)
class Pipeline:
    """One ``pipeline_config_list[i]``, also when read with problems (reported under its path):
    it is then still checked for every other problem, but never converted."""

    path: str
    name: str  # "" when the name could not be read (already reported)
    inputs: tuple[str, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[PipelineOutput, ...]
    demultiply_count: int | None = None  # the entry's demultiplexing (-1 = dynamic)

    @property
    def needs_pipeline_model(self) -> bool:
        """Runs only as a pipeline model (custom nodes, demultiplexing, gathering)."""
        return self.demultiply_count is not None or any(n.needs_pipeline_model for n in self.nodes)


@dataclass(frozen=True)
class CustomLibrary:
    """One ``custom_node_library_config_list`` entry."""

    path: str
    name: str
    base_path: str  # the .so file


@dataclass(frozen=True)
class OvmsConfig:
    """The entries of a config file, also those read with problems (already reported).

    ``declared`` maps every name a model entry or pipeline claims to the JSON paths of those
    entries, readable or not, so a check can tell "no such model" from an echo of a problem
    reported under one of them (``Problems.clean``).
    """

    models: tuple[ModelEntry, ...]
    pipelines: tuple[Pipeline, ...]
    declared: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    libraries: tuple[CustomLibrary, ...] = ()
