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
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np
import tritonclient.utils.shared_memory as shm
from tritonclient.grpc import service_pb2

LOGGER = logging.getLogger(__name__)

MAX_SETS = 16
MIN_BYTES = 1 << 16
PREFIX = "ovtriton_front"


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

    async def acquire(self, input_bytes: int, output_bytes: int) -> Optional[RegionSet]:
        """A free set big enough (grown or made and registered if needed); None at the limit."""
        for index, candidate in enumerate(self.free):
            if candidate.inputs.size >= input_bytes and candidate.outputs.size >= output_bytes:
                return self.free.pop(index)
        if self.free:  # too small: replace it by a bigger one
            await self._drop(self.free.pop())
        elif self.sets >= MAX_SETS:
            return None
        made = RegionSet(
            await self._region(_capacity(input_bytes)), await self._region(_capacity(output_bytes))
        )
        self.sets += 1
        return made

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
