"""The worker's loop: stops on its flag, returns when idle if asked, survives a
failing batch, and ends when cancelled even if a step swallowed the cancellation."""

from __future__ import annotations

import asyncio

import pytest

from application.ports.storage import StorageUnavailable
from entrypoints import worker
from entrypoints.worker import _repeat


async def test_a_cancellation_swallowed_by_a_step_still_ends_the_loop() -> None:
    entered = asyncio.Event()

    async def swallowing_step() -> int:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            return 1  # what a pool's pre-ping may do with a cancellation
        return 0

    loop = asyncio.create_task(
        _repeat("test", swallowing_step, lambda _: 0.0, stop=asyncio.Event(), until_idle=False)
    )
    await entered.wait()
    loop.cancel()
    async with asyncio.timeout(5):
        with pytest.raises(asyncio.CancelledError):
            await loop


async def test_until_idle_returns_once_a_batch_finds_nothing_and_failures_are_survived(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker, "FIRST_FAILURE_PAUSE", 0.01)
    results: list[int | Exception] = [3, RuntimeError("database down"), 2, 0]
    seen: list[int] = []

    async def step() -> int:
        result = results.pop(0)
        if isinstance(result, Exception):
            raise result
        seen.append(result)
        return result

    stop = asyncio.Event()
    async with asyncio.timeout(10):
        await _repeat(
            "test", step, lambda claimed: 0.0 if claimed else 1.0, stop=stop, until_idle=True
        )
    assert seen == [3, 2, 0]
    assert results == []


async def test_setting_stop_ends_the_loop_between_batches() -> None:
    stop = asyncio.Event()
    batches = 0

    async def step() -> int:
        nonlocal batches
        batches += 1
        if batches == 3:
            stop.set()
        return 1

    async with asyncio.timeout(5):
        await _repeat("test", step, lambda _: 0.0, stop=stop, until_idle=False)
    assert batches == 3


async def test_a_storage_outage_is_one_warning_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(worker, "FIRST_FAILURE_PAUSE", 0.01)
    results: list[int | Exception] = [StorageUnavailable("cannot reach the database"), 0]

    async def step() -> int:
        result = results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    async with asyncio.timeout(10):
        await _repeat("delivery", step, lambda _: 1.0, stop=asyncio.Event(), until_idle=True)
    [record] = [r for r in caplog.records if r.name == "eventapi.worker"]
    assert record.levelname == "WARNING"
    assert record.exc_info is None
    assert record.getMessage().startswith("delivery: cannot reach the database; trying again")
