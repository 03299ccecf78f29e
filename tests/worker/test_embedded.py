"""The embedded runner keeps a limit per queue: imports filling theirs hold up no check."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from relink.worker.context import JobContext
from relink.worker.embedded import EMBEDDED_CONCURRENCY, EmbeddedDispatcher
from relink.worker.enqueue import QueuedJob
from relink.worker.jobs import load_jobs
from relink.worker.registry import JOBS, JobName

# Only stops a hung test: the check runs as soon as the loop gets to it.
HANG_SECONDS = 30.0


async def test_a_check_starts_while_imports_fill_every_import_slot(
    ctx: JobContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_jobs()
    imports_running: list[int] = []
    release = asyncio.Event()
    checked_beside: list[int] = []
    checked = asyncio.Event()

    async def long_import(ctx: JobContext, **ids: Any) -> None:
        imports_running.append(ids["data_source_id"])
        await release.wait()

    async def check(ctx: JobContext, **ids: Any) -> None:
        checked_beside.append(len(imports_running))
        checked.set()

    for name, function in ((JobName.IMPORT, long_import), (JobName.CHECK_GRANT, check)):
        monkeypatch.setitem(JOBS, name, replace(JOBS[name], function=function))
    dispatcher = EmbeddedDispatcher(ctx)
    # given: more imports than the embedded runner runs at once, all of them long
    for source_id in range(EMBEDDED_CONCURRENCY + 5):
        dispatcher.dispatch(QueuedJob(JobName.IMPORT, {"data_source_id": source_id}))

    # when a signal's check is queued behind them
    dispatcher.dispatch(QueuedJob(JobName.CHECK_GRANT, {"grant_id": 1, "via": "signal"}))

    # then it runs while every import slot is still taken
    try:
        await asyncio.wait_for(checked.wait(), timeout=HANG_SECONDS)
        assert checked_beside == [EMBEDDED_CONCURRENCY]
    finally:
        release.set()
        await dispatcher.drain()
