"""The machine a bench ran on, for the report: cores, CPU model, memory, versions."""

from __future__ import annotations

import platform
from typing import Any

import psutil


def describe() -> dict[str, Any]:
    import openvino

    cores = len(psutil.Process().cpu_affinity() or []) or psutil.cpu_count() or 0
    return {
        "nproc": cores,
        "cpu_model": openvino.Core().get_property("CPU", "FULL_DEVICE_NAME"),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "openvino": openvino.__version__.split("-")[0],
        "kernel": platform.release(),
    }
