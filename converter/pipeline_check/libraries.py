"""``custom_node_library_config_list`` and the tensors of each custom node.

A custom node's inputs and outputs are what its library says (``getInputsInfo`` /
``getOutputsInfo`` with the node's ``params``, after ``initialize``, as OVMS asks at load), so
the converter inspects every library once per node (``inspection.py``: the backend's ctypes
runtime in a child process with a deadline).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ovtriton.backend.custom_node import TensorInfo
from ovtriton.backend.dtypes import triton_from_numpy

from ovtriton.backend.tensors import TensorSpec

from ..errors import Problems
from ..ovms import CustomLibrary, Node
from .inspection import InspectError, inspect_library
from .nodes import ANY, NodeIO


class Libraries:
    """The config's libraries, each resolved (and its problems reported) once."""

    def __init__(
        self, entries: tuple[CustomLibrary, ...], config_dir: Path, problems: Problems
    ) -> None:
        self.entries = {entry.name: entry for entry in entries}
        self.problems = problems
        self.paths: dict[str, Path | None] = {}
        for entry in entries:
            self.paths[entry.name] = self._resolve(entry, config_dir)

    def _resolve(self, entry: CustomLibrary, config_dir: Path) -> Path | None:
        where = f"{entry.path}.base_path"
        if entry.name in self.paths:
            self.problems.add(f"{entry.path}.name", f"library {entry.name!r} is declared twice")
            return None
        if ".." in Path(entry.base_path).parts:
            self.problems.add(
                where,
                f"base_path {entry.base_path!r} escapes with '..'",
                "OVMS forbids '..' too (PATH_INVALID); write the path without '..'",
            )
            return None
        path = Path(entry.base_path)
        path = path if path.is_absolute() else config_dir / path
        if not path.is_file():
            self.problems.add(
                where,
                f"{path} is not a file",
                "base_path names the library's .so file; relative paths are read from the "
                "config file's folder",
            )
            return None
        return path

    def node_io(self, node: Node) -> NodeIO | None:
        """The custom node's tensors from its library, or None after reporting why not."""
        name = node.library_name or ""
        if name not in self.entries:
            self.problems.add(
                f"{node.path}.library_name",
                f"no library named {name!r}",
                f"declare it in custom_node_library_config_list; known: {sorted(self.entries)}",
            )
            return None
        path = self.paths[name]
        if path is None:
            return None  # reported under the library's entry
        try:
            inputs, outputs = inspect_library(path, node.name or "", node.params)
        except InspectError as exc:
            self.problems.add(
                f"{node.path}.library_name",
                str(exc),
                "fix the library or the node's params (OVMS loads it the same way)",
            )
            return None
        label = f"library {name!r} of node {node.name!r}"
        return NodeIO(label, _tensors(inputs), _tensors(outputs), library=path)


def _tensors(infos: Mapping[str, TensorInfo]) -> tuple[TensorSpec, ...]:
    return tuple(
        TensorSpec(name, ANY if info.dtype is None else triton_from_numpy(info.dtype), info.dims)
        for name, info in infos.items()
    )
