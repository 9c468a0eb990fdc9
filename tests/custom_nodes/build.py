"""Compile the test custom node libraries of this folder with the system C compiler.

No compiler is a failure, never a skip: the custom node tests exist to run the real ABI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

SOURCES = Path(__file__).resolve().parent


def compile_library(
    source: str | Path, out_dir: Path, *defines: str, link: Sequence[str] = ()
) -> Path:
    """``<source>.c`` (of this folder, or a path) -> ``out_dir/lib<name>[_<define>...].so``
    (``cc -shared -fPIC``); ``link`` is added to the command (``-L...``, ``-l...``)."""
    compiler = os.environ.get("CC", "cc")
    if shutil.which(compiler) is None:
        raise RuntimeError(f"no C compiler {compiler!r} on PATH: install gcc (or set CC)")
    suffix = "".join(f"_{d.lower()}" for d in defines)
    path = source if isinstance(source, Path) else SOURCES / f"{source}.c"
    target = out_dir / f"lib{path.stem}{suffix}.so"
    command = [compiler, "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror"]
    command += ["-Wno-unused-parameter", *(f"-D{d}" for d in defines)]
    command += ["-o", str(target), str(path), *link]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr}")
    return target
