"""Relink in the scaled mode as real processes: app processes, workers and one scheduler.

Every process is started in a session of its own, so a kill takes a worker with its pool
children, and only what this test started is ever stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from tests.fixtures.processes import RELINK, relink_env
from tests.fixtures.redis_server import PrivateRedis, free_port

# Generous: the machine is shared, and five Python processes start at once.
READY_SECONDS = 60.0
STOP_SECONDS = 15.0
# The redirect URI the test sandbox has registered; the tests follow redirects themselves.
BASE_URL = "http://127.0.0.1:8000"
# Short, so the story runs in a minute: a sweep every second, and a silent worker's job handed
# out again after a few seconds (the default is an hour).
SWEEP_INTERVAL_SECONDS = "1"
VISIBILITY_TIMEOUT_SECONDS = "6"


def eventually(check: Callable[[], bool], *, what: str, within: float = READY_SECONDS) -> None:
    """Poll until ``check()`` holds; fail naming ``what`` if it never does."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.1)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]
    url: str | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the process and its children (a worker and its pool), as a crash would."""
        os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=STOP_SECONDS)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=STOP_SECONDS)
        self.log.close()

    def tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return f"--- {self.name} ---\n" + "\n".join(text[-lines:])


@dataclass
class Cluster:
    database_url: str
    secret_key: str
    sandbox_url: str
    redis: PrivateRedis
    var_dir: Path
    processes: list[Process] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = relink_env(
            database_url=self.database_url,
            secret_key=self.secret_key,
            sandbox_url=self.sandbox_url,
            var_dir=self.var_dir,
        )
        env |= {
            "RELINK_REDIS_URL": self.redis.url,
            "RELINK_BASE_URL": BASE_URL,
            "RELINK_SWEEP_INTERVAL_SECONDS": SWEEP_INTERVAL_SECONDS,
            "RELINK_TASK_VISIBILITY_TIMEOUT_SECONDS": VISIBILITY_TIMEOUT_SECONDS,
        }
        return env | extra

    def start(self, name: str, *args: str, url: str | None = None) -> Process:
        log_path = self.var_dir / f"{name}.log"
        log = log_path.open("wb")
        popen = subprocess.Popen(
            [RELINK, *args],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(name, popen, log_path, log, url)
        self.processes.append(process)
        return process

    def app(self, name: str) -> Process:
        """``relink serve``: in the scaled mode, web and API only."""
        port = free_port()
        return self.start(name, "serve", "--port", str(port), url=f"http://127.0.0.1:{port}")

    def worker(self, name: str) -> Process:
        return self.start(name, "worker", "--concurrency", "1", "--name", f"{name}@%h")

    def scheduler(self) -> Process:
        return self.start("scheduler", "scheduler")

    def wait_ready(self, process: Process) -> None:
        assert process.url is not None

        def answers() -> bool:
            assert process.alive(), self.logs()
            try:
                return httpx.get(f"{process.url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        eventually(answers, what=f"{process.name} answers")

    def owner_of(self, pid: int) -> Process:
        """The started process whose session holds ``pid`` (a worker's pool child)."""
        group = os.getpgid(pid)
        return next(p for p in self.processes if p.pid == group)

    @contextmanager
    def redis_stopped(self) -> Iterator[None]:
        """Redis away for the block (the private server only), then back on the same port."""
        self.redis.stop()
        try:
            yield
        finally:
            self.redis.start()

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.processes)

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()
