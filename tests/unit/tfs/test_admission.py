"""The bytes-in-flight budget and capped inflating."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import pytest

from ovtriton.tfs.admission import SMALL, Busy, ByteBudget, inflate
from ovtriton.tfs.json_guard import BodyRefused


def test_a_16_kb_gzip_bomb_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"0" * (17 << 20), 9)
    assert len(bomb) < 20_000
    with pytest.raises(BodyRefused) as refused:
        inflate(bomb, "gzip", 16 << 20)
    assert refused.value.status == 413


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "identity", ""])
def test_inflate_round_trip(encoding: str) -> None:
    data = b'{"inputs": []}' * 1000
    packed = {
        "gzip": gzip.compress(data),
        "deflate": zlib.compress(data),
    }.get(encoding, data)
    assert inflate(packed, encoding, len(data)) == data


def test_inflate_refuses_unknown_truncated_and_corrupt() -> None:
    with pytest.raises(BodyRefused, match="'br' is not supported") as refused:
        inflate(b"x", "br", 100)
    assert refused.value.status == 415
    with pytest.raises(BodyRefused, match="truncated"):
        inflate(gzip.compress(b"abc" * 100)[:-12], "gzip", 1000)
    with pytest.raises(BodyRefused, match="not valid gzip"):
        inflate(b"not gzip at all", "gzip", 1000)


def test_budget_refuses_when_full_and_admits_after_release() -> None:
    async def scenario() -> list[str]:
        budget = ByteBudget(total=100 * SMALL, wait=0.05)
        seen = []
        async with budget.hold(80 * SMALL):
            try:
                async with budget.hold(30 * SMALL):
                    seen.append("admitted")
            except Busy:
                seen.append("busy")
            async with budget.hold(20 * SMALL):
                seen.append("fits")
        async with budget.hold(1000 * SMALL):  # larger than the budget: runs alone
            seen.append("alone")
        seen.append(f"used={budget.used} refused={budget.refused}")
        return seen

    assert asyncio.run(scenario()) == ["busy", "fits", "alone", "used=0 refused=1"]


def test_budget_waiter_is_admitted_when_room_frees() -> None:
    async def scenario() -> bool:
        budget = ByteBudget(total=100 * SMALL, wait=30)
        first = asyncio.Event()
        release = asyncio.Event()

        async def holder() -> None:
            async with budget.hold(100 * SMALL):
                first.set()
                await release.wait()

        task = asyncio.create_task(holder())
        await first.wait()
        waiter = asyncio.create_task(_hold(budget, 50 * SMALL))
        await asyncio.sleep(0)
        assert not waiter.done()
        release.set()
        await task
        return await waiter

    assert asyncio.run(scenario())


async def _hold(budget: ByteBudget, size: int) -> bool:
    async with budget.hold(size):
        return True


def test_no_wait_admits_what_fits_and_refuses_the_rest_at_once() -> None:
    async def scenario() -> list[str]:
        budget = ByteBudget(total=100 * SMALL, wait=0)
        seen = []
        async with budget.hold(60 * SMALL):
            seen.append("first")
            try:
                async with budget.hold(60 * SMALL):
                    seen.append("second")
            except Busy:
                seen.append("busy")
        return seen

    assert asyncio.run(scenario()) == ["first", "busy"]


def test_small_requests_pass_a_full_budget() -> None:
    async def scenario() -> list[str]:
        budget = ByteBudget(total=2 * SMALL, wait=0)
        seen = []
        async with budget.hold(2 * SMALL):
            async with budget.hold(SMALL - 1):
                seen.append("small passes")
            try:
                async with budget.hold(SMALL):
                    seen.append("admitted")
            except Busy:
                seen.append("busy")
        return seen

    assert asyncio.run(scenario()) == ["small passes", "busy"]
