"""``custom_node_library_config_list`` and the tensors of each node of a DAG pipeline.

A custom node's inputs and outputs are what its library says (``getInputsInfo`` /
``getOutputsInfo`` with the node's ``params``, after ``initialize``, as OVMS asks at load), so
the converter loads every library once per node through the backend's ctypes runtime — in a
child process with a deadline (``INSPECT_SECONDS``): a library whose load-time code crashes or
blocks is a refused config with one line, never a dead or frozen ``convert``/``serve --watch``.
A model node's tensors are those of its converted model.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ovtriton.backend.custom_node import TensorInfo
from ovtriton.backend.dtypes import triton_from_numpy

from .errors import Problems
from .models import ConvertedModel
from .ovms import CustomLibrary, Node

Tensor = tuple[Optional[str], tuple[int, ...]]  # Triton datatype (None: any), dims
INSPECT_SECONDS = 30.0  # for one library to load, initialize and describe its tensors

# Run in the child: load, initialize, ask for the tensors, deinitialize; print them as JSON.
_INSPECT = """
import json, sys
from ovtriton.backend.custom_node import CustomNodeLibrary, CustomNodeLoadError
path, node, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
def infos(found):
    return {n: [i.precision, None if i.dtype is None else i.dtype.str, list(i.dims)]
            for n, i in found.items()}
try:
    with CustomNodeLibrary(path, node=node) as library:
        library.initialize(params)
        answer = {"inputs": infos(library.inputs_info(params)),
                  "outputs": infos(library.outputs_info(params))}
except CustomNodeLoadError as exc:
    answer = {"error": str(exc)}
print(json.dumps(answer), flush=True)
"""


class InspectError(Exception):
    """The library could not be inspected; the message says why in one line."""


def inspect_library(
    path: Path, node: str, params: Mapping[str, str], timeout: Optional[float] = None
) -> tuple[dict[str, TensorInfo], dict[str, TensorInfo]]:
    """The library's input and output tensors for ``params``, asked in a child process."""
    timeout = INSPECT_SECONDS if timeout is None else timeout
    command = [sys.executable, "-c", _INSPECT, str(path), node, json.dumps(dict(params))]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # run() killed the child
        raise InspectError(
            f"custom node library {path} did not finish loading (initialize, getInputsInfo, "
            f"getOutputsInfo) within {timeout:g} s; it blocks at load"
        ) from None
    if done.returncode != 0:
        code = done.returncode
        how = f"killed by {_signal_name(-code)}" if code < 0 else f"exit code {code}"
        last = (done.stderr.strip().splitlines() or [""])[-1][:200]
        raise InspectError(
            f"custom node library {path} crashed while loaded ({how})"
            + (f": {last}" if last else "")
        )
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise InspectError(f"custom node library {path}: no answer from its inspection") from None
    if "error" in answer:
        raise InspectError(str(answer["error"]))
    return _infos(answer["inputs"]), _infos(answer["outputs"])


def _infos(raw: Mapping[str, list]) -> dict[str, TensorInfo]:
    return {
        name: TensorInfo(name, precision, None if dtype is None else np.dtype(dtype), tuple(dims))
        for name, (precision, dtype, dims) in raw.items()
    }


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


@dataclass(frozen=True)
class NodeTensors:
    """What one node takes and gives, by (mapped) tensor name."""

    inputs: Mapping[str, Tensor]
    outputs: Mapping[str, Tensor]
    model: ConvertedModel | None = None  # a model node's model
    library: Path | None = None  # a custom node's .so


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

    def node_tensors(self, node: Node) -> NodeTensors | None:
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
        return NodeTensors(_tensors(inputs), _tensors(outputs), library=path)


def model_tensors(model: ConvertedModel) -> NodeTensors:
    return NodeTensors(
        {spec.name: (spec.datatype, spec.shape) for spec in model.inputs},
        {spec.name: (spec.datatype, spec.shape) for spec in model.outputs},
        model=model,
    )


def _tensors(infos: Mapping[str, TensorInfo]) -> dict[str, Tensor]:
    return {
        name: (None if info.dtype is None else triton_from_numpy(info.dtype), info.dims)
        for name, info in infos.items()
    }
