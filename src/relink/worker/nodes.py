"""`relink worker` out of the box: one Celery node per queue, started and kept by one process.

A Celery node's processes serve all its queues from one pool, so a node serving imports and
the rest would give every process to a long backfill while a signal's check, the sweep and
the probe waited. Out of the box (no ``--queues``) the worker is a small supervisor instead:
it starts one node for the imports (``--concurrency`` processes), and one for the requested
jobs and one for the periodic jobs with a process each, so neither ever waits behind an
import. A node that exits is started again; a signal to stop is passed to every node, which
finishes the job in hand (a warm shutdown); and each node ends with the supervisor, even one
killed without a word.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

import structlog

from relink.worker.queues import IMPORTS_QUEUE, JOBS_QUEUE, PERIODIC_QUEUE

log = structlog.get_logger(__name__)

# The requested jobs (checks, revocations, deliveries) and the periodic ones (the sweep, the
# probe, the scheduled e-mails) are short, and one of each waits at most (coalesced): one
# process each keeps them from ever queueing behind imports without a pool of idle processes.
JOBS_PROCESSES = 1
PERIODIC_PROCESSES = 1
# How often the supervisor looks at its nodes, and how long a node that exited waits before
# it is started again (a node that cannot start must not spin).
WATCH_EVERY_SECONDS = 0.2
RESTART_PAUSE_SECONDS = 5.0
# `relink` run by this very interpreter, wherever the console script was installed.
RELINK_COMMAND = (sys.executable, "-c", "from relink.cli import app; app(prog_name='relink')")
# Linux's prctl(PR_SET_PDEATHSIG): the signal a node gets when its supervisor dies.
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Node:
    """One Celery node: its queues (comma-separated) and its pool's processes."""

    queues: str
    concurrency: int

    def command(self, name: str) -> list[str]:
        """``relink worker`` serving only this node's queues, named after the first one."""
        return [
            *RELINK_COMMAND,
            "worker",
            f"--queues={self.queues}",
            f"--concurrency={self.concurrency}",
            f"--name={self.queues.split(',')[0]}.{name}",
        ]


def default_nodes(import_processes: int) -> tuple[Node, ...]:
    """The nodes of a worker started without ``--queues``: every queue its own processes."""
    return (
        Node(IMPORTS_QUEUE, import_processes),
        Node(JOBS_QUEUE, JOBS_PROCESSES),
        Node(PERIODIC_QUEUE, PERIODIC_PROCESSES),
    )


class Supervisor:
    """Starts each command as a child, starts again one that exits, and stops them all on
    SIGTERM or SIGINT (passing SIGTERM on: each finishes the job in hand)."""

    def __init__(self, commands: Sequence[Sequence[str]]) -> None:
        self.commands = [list(command) for command in commands]
        self.children: list[subprocess.Popen[bytes] | None] = [None] * len(commands)
        self.restart_at: list[float | None] = [None] * len(commands)
        self.stopping = False

    def run(self) -> int:
        """Supervise until told to stop; 0 if every node then stopped cleanly."""
        previous = {
            signum: signal.signal(signum, self._stop) for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            for index in range(len(self.commands)):
                if self.stopping:
                    break
                self._start(index)
            while not self.stopping:
                self._watch()
                time.sleep(WATCH_EVERY_SECONDS)
            return self._stop_all()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _start(self, index: int) -> None:
        # Our own interpreter and arguments, never input from outside.
        self.children[index] = subprocess.Popen(  # noqa: S603
            self.commands[index], preexec_fn=_end_with_parent()
        )
        self.restart_at[index] = None
        log.info("worker.node.started", command=self.commands[index][len(RELINK_COMMAND) :])

    def _watch(self) -> None:
        now = time.monotonic()
        for index, child in enumerate(self.children):
            if self.stopping:
                return
            restart_at = self.restart_at[index]
            if restart_at is not None:
                if now >= restart_at:
                    self._start(index)
                continue
            if child is not None and child.poll() is not None:
                log.error(
                    "worker.node.exited",
                    command=self.commands[index][len(RELINK_COMMAND) :],
                    exit_code=child.returncode,
                    restart_in_seconds=RESTART_PAUSE_SECONDS,
                )
                self.restart_at[index] = now + RESTART_PAUSE_SECONDS

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        # Only noted here; the loop passes it on (nothing else runs inside a signal handler).
        self.stopping = True

    def _stop_all(self) -> int:
        live = [child for child in self.children if child is not None]
        for child in live:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        codes = [child.wait() for child in live]
        log.info("worker.nodes.stopped", exit_codes=codes)
        return next((code for code in codes if code != 0), 0)


def _end_with_parent() -> Callable[[], None] | None:
    """What a child runs before it starts, on Linux: ask for SIGTERM when the parent dies, so
    a supervisor killed without a word (SIGKILL, the OOM killer) leaves no node behind."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    parent = os.getpid()

    def ask() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request was made
            os._exit(1)

    return ask
