"""A worker process runs every job on its one event loop, and lets each job's tail finish."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from relink.config import get_settings
from relink.worker.celery_dispatch import CeleryDispatcher
from relink.worker.celery_process import runtime, stop_runtime
from relink.worker.enqueue import current_dispatcher
from tests.fixtures.redis_server import PrivateRedis


def test_a_worker_process_keeps_one_loop_and_finishes_what_a_job_left_running(
    redis_server: PrivateRedis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELINK_REDIS_URL", redis_server.url)
    monkeypatch.setenv("RELINK_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/relink.db")
    get_settings.cache_clear()
    finished: list[int] = []

    async def job(n: int) -> asyncio.AbstractEventLoop:
        async def tail() -> None:
            await asyncio.sleep(0.01)
            finished.append(n)

        # Like a bell update on its way to Redis after the job's commit.
        asyncio.get_running_loop().create_task(tail())
        return asyncio.get_running_loop()

    try:
        process = runtime()
        loops = [process.run(job(1)), process.run(job(2))]

        assert loops == [process.loop, process.loop]
        assert finished == [1, 2], "each job's tail ends before the next message"
        assert runtime() is process
        assert isinstance(current_dispatcher(), CeleryDispatcher), "follow-up jobs go to Celery"
    finally:
        stop_runtime()

    assert current_dispatcher() is None
