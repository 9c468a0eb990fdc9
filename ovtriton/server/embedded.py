"""Locate the tritonserver shipped in the ``nvidia-pytriton`` wheel and lay out a backend folder.

The wheel carries tritonserver 2.51, Triton's Python backend and one stub per Python version.
A backend folder for it holds ``python/`` (libtriton_python.so, the utils module, the stub for
the running Python) and ``openvino_py/`` (a copy of this project's ``backend/``).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ovtriton.backend import BACKEND_NAME
from ovtriton.errors import UserError


@dataclass(frozen=True)
class Installation:
    """Where the wheel put things."""

    root: Path  # .../site-packages/pytriton/tritonserver
    libs: Path  # .../site-packages/nvidia_pytriton.libs

    @property
    def binary(self) -> Path:
        return self.root / "bin" / "tritonserver"

    @property
    def stub(self) -> Path:
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        return self.root / "python_backend_stubs" / version / "triton_python_backend_stub"

    @property
    def caches(self) -> Path:
        return self.root / "caches"


# glibc otherwise maps (and page-faults) fresh memory for every large tensor copy and returns
# it right after: measured 7-11 % less CPU per inference (docs/notes/pipeline.md).
MALLOC_TUNING = {"MALLOC_MMAP_THRESHOLD_": "16777216", "MALLOC_TRIM_THRESHOLD_": "67108864"}


def locate() -> Installation:
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            "the embedded tritonserver is not installed; install it with "
            "pip install 'ovtriton[server]' (it comes in the nvidia-pytriton wheel)"
        )
    package = Path(list(spec.submodule_search_locations)[0])
    found = Installation(package / "tritonserver", package.parent / "nvidia_pytriton.libs")
    if not found.binary.is_file():
        raise UserError(f"nvidia-pytriton is installed but {found.binary} is missing; reinstall it")
    if not found.stub.is_file():
        raise UserError(
            f"nvidia-pytriton has no Python backend stub for Python "
            f"{sys.version_info[0]}.{sys.version_info[1]} ({found.stub}); use Python 3.8-3.12"
        )
    return found


def backend_source() -> Path:
    """The ``backend/`` folder that becomes ``<backend-dir>/openvino_py``."""
    spec = importlib.util.find_spec("ovtriton.backend")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the ovtriton.backend package is missing; reinstall ovtriton")
    return Path(list(spec.submodule_search_locations)[0])


def assemble_backend_dir(installation: Installation, dest: Path) -> Path:
    """Create ``dest/python`` and ``dest/openvino_py``; returns ``dest`` (no trailing slash)."""
    python_dir = dest / "python"
    python_dir.mkdir(parents=True, exist_ok=True)
    python_src = installation.root / "backends" / "python"
    for name in ("libtriton_python.so", "triton_python_backend_utils.py"):
        shutil.copy2(python_src / name, python_dir / name)
    shutil.copy2(installation.stub, python_dir / "triton_python_backend_stub")
    install_backend(dest / BACKEND_NAME)
    return dest


def install_backend(target: Path) -> Path:
    """Copy the backend's modules into ``target`` (what a stock tritonserver needs, too)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for source in sorted(backend_source().glob("*.py")):
        shutil.copy2(source, target / source.name)
    return target


def environment(installation: Installation, base: dict[str, str] | None = None) -> dict[str, str]:
    """The stub needs libpython of this interpreter and the wheel's grafted libraries; its
    embedded interpreter finds this environment (numpy, openvino) through ``python3`` on PATH."""
    env = dict(os.environ if base is None else base)
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    paths = [p for p in (libdir, str(installation.libs), env.get("LD_LIBRARY_PATH", "")) if p]
    env["LD_LIBRARY_PATH"] = os.pathsep.join(paths)
    env["PATH"] = os.pathsep.join([str(Path(sys.exec_prefix) / "bin"), env.get("PATH", "")])
    return env


# The largest HTTP body tritonserver reads once it has a flag for it (2.51 has none; later
# versions have --http-max-input-size): the front's and the guard's own body limit.
HTTP_MAX_INPUT_SIZE = 1024**3 - 1


@functools.lru_cache(maxsize=8)
def _help_text(binary: str) -> str:
    try:
        done = subprocess.run(
            [binary, "--help"],
            capture_output=True,
            text=True,
            timeout=30,
            env=environment(locate()),
            check=False,
        )
    except (OSError, subprocess.SubprocessError, UserError):
        return ""
    return done.stdout + done.stderr


def max_input_size_flag(installation: Installation, given: Sequence[str]) -> list[str]:
    """``--http-max-input-size=…`` when this tritonserver knows the flag and the operator did
    not set it (after ``--``); nothing for 2.51. The HTTP guard stays in front either way: a
    body limit cannot stop a 106-byte body that declares a terabyte."""
    flag = "--http-max-input-size"
    if any(a.startswith(flag) for a in given) or flag not in _help_text(str(installation.binary)):
        return []
    return [f"{flag}={HTTP_MAX_INPUT_SIZE}"]
