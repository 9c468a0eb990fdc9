"""The front's shared-memory pool (``ovtriton/tfs/shm_pool.py``) against a recording stub."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest

from ovtriton.tfs import shm_pool


class Stub:
    """Records Triton's register / unregister calls (and the metadata they carry)."""

    def __init__(self) -> None:
        self.registered: dict[str, int] = {}
        self.metadata: list[Any] = []

    async def SystemSharedMemoryRegister(self, request: Any, metadata: Any = None) -> None:  # noqa: N802
        self.registered[request.name] = request.byte_size
        self.metadata.append(metadata)

    async def SystemSharedMemoryUnregister(self, request: Any, metadata: Any = None) -> None:  # noqa: N802
        del self.registered[request.name]


def segments(pool: shm_pool.ShmPool) -> list[bool]:
    return [Path("/dev/shm", r.name).exists() for r in pool.regions]


def test_capacity_is_a_power_of_two_of_at_least_64_kib() -> None:
    assert shm_pool._capacity(0) == shm_pool.MIN_BYTES
    assert shm_pool._capacity(602_112) == 1 << 20
    assert shm_pool._capacity(1 << 20) == 1 << 20


def test_sets_are_registered_once_reused_grown_bounded_and_released() -> None:
    stub = Stub()
    pool = shm_pool.ShmPool(stub, (("admin-key", "secret"),))

    async def scenario() -> None:
        first = await pool.acquire(602_112, 4)
        assert first is not None and stub.registered == {
            first.inputs.name: 1 << 20,
            first.outputs.name: shm_pool.MIN_BYTES,
        }
        assert stub.metadata == [(("admin-key", "secret"),)] * 2  # the admin headers
        placed = shm_pool.write(first.inputs, [b"abc", b"\x00\x01"])
        assert placed == [(0, 3), (3, 2)]
        assert (
            shm_pool.read(first.inputs, 3, 2) == b"\x00\x01"
            and shm_pool.read(first.inputs, 0, 0) == b""
        )
        pool.release(first)
        again = await pool.acquire(100, 4)
        assert again is first and len(stub.registered) == 2  # reused, nothing registered
        pool.release(again)
        bigger = await pool.acquire(3 << 20, 4)  # too small: replaced by a bigger set
        assert bigger is not None and bigger.inputs.size == 4 << 20 and len(stub.registered) == 2
        assert not Path("/dev/shm", first.inputs.name).exists()
        held = [bigger] + [await pool.acquire(10, 10) for _ in range(shm_pool.MAX_SETS - 1)]
        assert all(held) and await pool.acquire(10, 10) is None  # at the limit: plain gRPC
        assert all(segments(pool)) and len(stub.registered) == 2 * shm_pool.MAX_SETS
        names = [r.name for r in pool.regions]
        await pool.close()
        assert stub.registered == {} and pool.regions == []
        assert not any(Path("/dev/shm", name).exists() for name in names)

    asyncio.run(scenario())


def test_a_failed_registration_unlinks_the_segment() -> None:
    class Refusing(Stub):
        async def SystemSharedMemoryRegister(self, request: Any, metadata: Any = None) -> None:  # noqa: N802
            self.registered[request.name] = 0
            raise RuntimeError("refused")

    stub = Refusing()
    pool = shm_pool.ShmPool(stub)
    with pytest.raises(RuntimeError, match="refused"):
        asyncio.run(pool.acquire(10, 10))
    [name] = stub.registered
    assert not Path("/dev/shm", name).exists() and pool.regions == []


def test_a_discarded_set_is_never_reused_and_is_released() -> None:
    stub = Stub()
    pool = shm_pool.ShmPool(stub)

    async def scenario() -> None:
        left = await pool.acquire(10, 10)
        assert left is not None
        pool.discard(left)  # a cancelled request's set
        await pool.close()  # waits for the discard
        assert stub.registered == {} and pool.sets == 0 and pool.free == []
        assert not Path("/dev/shm", left.inputs.name).exists()

    asyncio.run(scenario())


def _refusal() -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        grpc.StatusCode.INVALID_ARGUMENT, grpc.aio.Metadata(), grpc.aio.Metadata(), "no room"
    )


def test_regions_that_cannot_be_made_send_requests_plain_for_a_while(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class OutputRefused(Stub):
        """Registers the input region, refuses the output region."""

        calls = 0

        async def SystemSharedMemoryRegister(self, request: Any, metadata: Any = None) -> None:  # noqa: N802
            self.calls += 1
            if self.calls % 2 == 0:
                raise _refusal()
            await super().SystemSharedMemoryRegister(request, metadata)

    stub = OutputRefused()
    pool = shm_pool.ShmPool(stub)

    async def scenario() -> None:
        with caplog.at_level(logging.WARNING, logger=shm_pool.__name__):
            assert await pool.acquire(10, 10) is None
        assert "INVALID_ARGUMENT: no room" in caplog.text and "over gRPC" in caplog.text
        # the input region made before the refusal is gone: unregistered and unlinked
        assert stub.registered == {} and pool.regions == [] and pool.sets == 0
        assert not [p for p in Path("/dev/shm").iterdir() if p.name.startswith(_mine())]
        calls = stub.calls
        assert await pool.acquire(10, 10) is None and stub.calls == calls  # not tried again
        pool.unavailable_until = 0.0  # the pause is over
        assert await pool.acquire(10, 10) is None and stub.calls == calls + 2  # tried again

    asyncio.run(scenario())


def test_a_segment_that_cannot_be_created_sends_requests_plain(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def full(*_: Any) -> None:
        raise shm_pool.shm.SharedMemoryException("unable to initialize the size")

    monkeypatch.setattr(shm_pool.shm, "create_shared_memory_region", full)
    stub = Stub()
    pool = shm_pool.ShmPool(stub)
    with caplog.at_level(logging.WARNING, logger=shm_pool.__name__):
        assert asyncio.run(pool.acquire(10, 10)) is None
    assert "unable to initialize the size" in caplog.text and stub.registered == {}


def _mine() -> str:
    return f"{shm_pool.PREFIX}_{os.getpid()}_"


def test_segments_of_fronts_that_are_gone_are_removed(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: its pid names no process
    names = [
        f"{shm_pool.PREFIX}_{gone.pid}_0",  # a killed front's: removed
        f"{shm_pool.PREFIX}_{gone.pid}_7",
        f"{shm_pool.PREFIX}_{os.getpid()}_0",  # a live front's: kept
        f"other_{gone.pid}_0",  # not a front's: kept
        f"{shm_pool.PREFIX}_{gone.pid}_0.bak",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    removed = shm_pool.remove_stale_segments(tmp_path)
    assert sorted(removed) == sorted(names[:2])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])
    assert shm_pool.remove_stale_segments(tmp_path / "missing") == []
