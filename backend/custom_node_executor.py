"""Custom node executions on worker threads, for the pipeline model.

ctypes releases the GIL for the length of every foreign call, so a custom node running on a
worker thread does not stop OpenVINO (or other custom nodes, or the sub-requests of a
demultiplexer) from running at the same time. OVMS calls a library's ``execute`` concurrently
too, so libraries written for OVMS expect it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from .custom_node import CustomNodeLibrary

LOGGER = logging.getLogger(__name__)


class CustomNodeExecutor:
    """A pool of ``workers`` threads running ``CustomNodeLibrary.execute``."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.workers = workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="custom-node")

    def submit(
        self,
        library: CustomNodeLibrary,
        inputs: Mapping[str, np.ndarray],
        params: Mapping[str, str],
    ) -> Future[dict[str, np.ndarray]]:
        """Start one execution; the future holds its outputs or its ``CustomNodeError``."""
        return self._pool.submit(library.execute, inputs, params)

    def close(self) -> None:
        """Wait for the executions in flight, then stop the threads."""
        self._pool.shutdown(wait=True)

    def __enter__(self) -> CustomNodeExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
