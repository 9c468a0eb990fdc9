"""A custom node library inspected as OVMS inspects it at load — loaded, initialized with the
node's ``params``, asked ``getInputsInfo``/``getOutputsInfo``, deinitialized — in a child
process with a deadline (``INSPECT_SECONDS``): a library whose load-time code crashes or blocks
is a refused config with one line, never a dead or frozen ``convert``/``serve --watch``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

import numpy as np

from ovtriton.backend.custom_node import TensorInfo

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
