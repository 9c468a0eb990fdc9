"""System shared memory between the TFS front and the Triton it fronts (``FrontConfig.shared_memory``).

Without it a request's tensors cross loopback gRPC a second time (front -> Triton, serialized
and parsed again). With it the front copies the inputs once into a region Triton maps, names the
region in a small ``ModelInfer``, and reads the outputs from another region.

- *Regions* are POSIX shared memory segments (``tritonclient.utils.shared_memory``), registered
  once with Triton (with the admin headers: registration is a restricted API) and reused: a
  region set (one input region, one output region) serves one request at a time and goes back
  to the pool; at most ``MAX_SETS`` sets exist (more requests in flight use plain gRPC).
- *Output sizes* are learned: the first request of a (model, version, input shapes, output
  filter) goes plain; its outputs' names and sizes let later ones take the shared-memory path.
  A shared-memory request Triton refuses (an output grew) is sent again plain and the sizes are
  learned again. Strings never take this path (their sizes vary).
- A set left by a cancelled request is never reused (Triton may still write its outputs
  there): it is unregistered and unlinked instead.
- ``close()`` unregisters every region and unlinks its segment (the front calls it when it
  stops); a region's name holds the front's pid, so regions of different fronts never clash.
  Segments left by a front whose process is gone (killed with -9) are unlinked when the next
  pool starts (``remove_stale_segments``).
- *Never a failed request for want of shared memory*: when a region cannot be made or
  registered (``/dev/shm`` full, as with Docker's 64 MB default, or a Triton that refuses),
  the pool says so once in the log and hands out no set for ``RETRY_AFTER_S``; the requests
  go plain meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import grpc
import numpy as np
import psutil
import tritonclient.utils.shared_memory as shm
from tritonclient.grpc import service_pb2

LOGGER = logging.getLogger(__name__)

MAX_SETS = 16
MIN_BYTES = 1 << 16
PREFIX = "ovtriton_front"
SEGMENTS = Path("/dev/shm")
RETRY_AFTER_S = 60.0
_SEGMENT = re.compile(rf"{PREFIX}_(\d+)_\d+")


@dataclass
class Region:
    name: str
    key: str
    size: int
    handle: Any


@dataclass
class RegionSet:
    inputs: Region
    outputs: Region


@dataclass
class ShmPool:
    """Registered region sets, free or in use; used from the front's event loop only."""

    stub: Any  # Triton's GRPCInferenceServiceStub (grpc.aio)
    headers: tuple[tuple[str, str], ...] = ()
    free: list[RegionSet] = field(default_factory=list)
    sets: int = 0
    sizes: dict[tuple, list[tuple[str, int]]] = field(default_factory=dict)
    regions: list[Region] = field(default_factory=list)
    _names: Any = field(default_factory=itertools.count)
    _dropping: set[Any] = field(default_factory=set)  # discard()'s tasks, kept referenced
    unavailable_until: float = 0.0  # monotonic time; no new region before it

    async def acquire(self, input_bytes: int, output_bytes: int) -> Optional[RegionSet]:
        """A free set big enough (grown or made and registered if needed); None at the limit
        or while regions cannot be made."""
        for index, candidate in enumerate(self.free):
            if candidate.inputs.size >= input_bytes and candidate.outputs.size >= output_bytes:
                return self.free.pop(index)
        if time.monotonic() < self.unavailable_until:
            return None
        if self.free:  # too small: replace it by a bigger one
            await self._drop(self.free.pop())
        elif self.sets >= MAX_SETS:
            return None
        made: list[Region] = []
        try:
            for size in (input_bytes, output_bytes):
                made.append(await self._region(_capacity(size)))
        except (OSError, shm.SharedMemoryException, grpc.RpcError) as error:
            for region in made:
                await self._unregister(region)
            self.unavailable_until = time.monotonic() + RETRY_AFTER_S
            LOGGER.warning(
                "the front cannot make a shared-memory region (%s); requests pass their "
                "tensors over gRPC for the next %.0f s",
                _cause(error), RETRY_AFTER_S,
            )  # fmt: skip
            return None
        self.sets += 1
        return RegionSet(*made)

    def release(self, regions: RegionSet) -> None:
        self.free.append(regions)

    def discard(self, regions: RegionSet) -> None:
        """Never reuse ``regions`` (a request left them while Triton may still write there):
        unregister and unlink them in the background (Triton's own mapping stays valid)."""
        task = asyncio.get_running_loop().create_task(self._drop(regions))
        self._dropping.add(task)
        task.add_done_callback(self._dropping.discard)

    async def close(self) -> None:
        """Unregister every region and unlink its segment."""
        if self._dropping:
            await asyncio.gather(*self._dropping, return_exceptions=True)
        for region in list(self.regions):
            await self._unregister(region)
        self.free.clear()
        self.sets = 0

    async def _region(self, size: int) -> Region:
        name = f"{PREFIX}_{os.getpid()}_{next(self._names)}"
        handle = shm.create_shared_memory_region(name, "/" + name, size)
        region = Region(name, "/" + name, size, handle)
        try:
            await self.stub.SystemSharedMemoryRegister(
                service_pb2.SystemSharedMemoryRegisterRequest(
                    name=name, key=region.key, offset=0, byte_size=size
                ),
                metadata=self.headers or None,
            )
        except BaseException:
            shm.destroy_shared_memory_region(handle)
            raise
        self.regions.append(region)
        return region

    async def _drop(self, regions: RegionSet) -> None:
        for region in (regions.inputs, regions.outputs):
            await self._unregister(region)
        self.sets -= 1

    async def _unregister(self, region: Region) -> None:
        try:
            await self.stub.SystemSharedMemoryUnregister(
                service_pb2.SystemSharedMemoryUnregisterRequest(name=region.name),
                metadata=self.headers or None,
            )
        except Exception as exc:  # Triton gone: its mapping went with it
            LOGGER.debug("unregistering %s: %s", region.name, exc)
        shm.destroy_shared_memory_region(region.handle)
        self.regions.remove(region)


def remove_stale_segments(folder: Path = SEGMENTS) -> list[str]:
    """Unlink the segments of fronts whose process is gone; the names removed."""
    removed: list[str] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _SEGMENT.fullmatch(entry.name)
        if match is None or psutil.pid_exists(int(match.group(1))):
            continue
        try:
            entry.unlink()
        except OSError as error:
            LOGGER.debug("cannot remove the stale segment %s: %s", entry, error)
            continue
        removed.append(entry.name)
    if removed:
        LOGGER.info("removed %d shared-memory segments left by a stopped front", len(removed))
    return removed


def _cause(error: BaseException) -> str:
    if isinstance(error, grpc.RpcError):
        return f"Triton answered {error.code().name}: {error.details()}"  # type: ignore[attr-defined]
    return str(error) or type(error).__name__


def _capacity(size: int) -> int:
    """Room for ``size`` bytes: the next power of two, at least ``MIN_BYTES``."""
    return max(MIN_BYTES, 1 << max(0, size - 1).bit_length())


def write(region: Region, payloads: Sequence[bytes]) -> list[tuple[int, int]]:
    """Copy ``payloads`` one after another into ``region``; (offset, size) of each."""
    placed, offset = [], 0
    for payload in payloads:
        data = np.frombuffer(payload, dtype=np.uint8)
        shm.set_shared_memory_region(region.handle, [data], offset=offset)
        placed.append((offset, len(payload)))
        offset += len(payload)
    return placed


def read(region: Region, offset: int, size: int) -> bytes:
    """``size`` bytes of ``region`` from ``offset`` (a copy: the region is reused)."""
    if size == 0:
        return b""
    view = shm.get_contents_as_numpy(region.handle, np.uint8, [size], offset=offset)
    return view.tobytes()
