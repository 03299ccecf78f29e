"""Token calls outside request handlers: a request starts one, waits a few seconds, and answers.

The call runs as a task of its own, not as part of the request. A request that stops waiting,
or a browser that goes away, never cuts a token call short: its answer may carry the only copy
of a rotated refresh token (or a new grant's tokens), so the task finishes and saves what it got.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import structlog

from relink.errors import RelinkError

log = structlog.get_logger(__name__)

T = TypeVar("T")

# The longest a web request waits on a token call before answering: a person reads a page in
# that time; a provider slower than that is waited for in the background.
REQUEST_WAIT_SECONDS = 5.0

# Running calls, held so the event loop does not collect them while no request awaits them.
_running: set[asyncio.Task[Any]] = set()
# Calls whose request stopped waiting: their failures are logged, as nobody else sees them.
_abandoned: set[asyncio.Task[Any]] = set()


class StillWorking(RelinkError):
    """The provider is slow to answer; the call goes on in the background."""

    status_code = 202


async def wait_briefly(
    work: Coroutine[Any, Any, T], *, name: str, message: str, wait: float | None = None
) -> T:
    """Run ``work`` as its own task; its result within ``wait`` seconds, else ``StillWorking``
    with ``message`` while the task carries on."""
    task = asyncio.get_running_loop().create_task(work, name=name)
    _running.add(task)
    task.add_done_callback(_finished)
    seconds = REQUEST_WAIT_SECONDS if wait is None else wait
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task not in done:
        _abandoned.add(task)
        log.info("provider.call.detached", call=name, waited_seconds=seconds)
        raise StillWorking(message)
    return task.result()


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if task not in _abandoned:
        return
    _abandoned.discard(task)
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.warning(
            "provider.call.detached_failed", call=task.get_name(), error_class=type(error).__name__
        )


async def drain() -> None:
    """Wait for every detached call (tests, shutdown)."""
    while _running:
        await asyncio.gather(*list(_running), return_exceptions=True)
