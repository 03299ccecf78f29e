"""`relink worker` out of the box: a node per queue, kept running, stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from relink.cli import app
from relink.worker import nodes
from relink.worker.nodes import Node, default_nodes
from relink.worker.queues import IMPORTS_QUEUE, JOBS_QUEUE, PERIODIC_QUEUE, QUEUES
from tests.fixtures.data_sources import wait_until

STOP_SECONDS = 30.0


def test_without_queues_every_queue_gets_a_node_the_imports_with_the_concurrency() -> None:
    planned = default_nodes(3)

    assert {node.queues: node.concurrency for node in planned} == {
        IMPORTS_QUEUE: 3,
        JOBS_QUEUE: nodes.JOBS_PROCESSES,
        PERIODIC_QUEUE: nodes.PERIODIC_PROCESSES,
    }
    assert sorted(node.queues for node in planned) == sorted(QUEUES), "each queue one node"


def test_a_node_is_relink_worker_serving_its_queues_under_its_own_name() -> None:
    command = Node(IMPORTS_QUEUE, 3).command("worker-a@%h")

    assert command[:4] == [*nodes.RELINK_COMMAND, "worker"]
    assert command[4:] == ["--queues=imports", "--concurrency=3", "--name=imports.worker-a@%h"]


def test_the_worker_command_without_queues_supervises_a_node_per_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RELINK_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("RELINK_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
    supervised: list[list[list[str]]] = []
    one_pool: list[str] = []

    class Recorded(nodes.Supervisor):
        def run(self) -> int:
            supervised.append(self.commands)
            return 0

    monkeypatch.setattr(nodes, "Supervisor", Recorded)
    monkeypatch.setattr(
        "relink.worker.celery_app.run_node", lambda *a, **k: one_pool.append(k["queues"])
    )

    result = CliRunner().invoke(app, ["worker", "--concurrency", "4", "--name", "w@%h"])

    assert result.exit_code == 0, result.output
    assert one_pool == [], "no node serving every queue from one pool"
    (commands,) = supervised
    assert [c[4:] for c in commands] == [n.command("w@%h")[4:] for n in default_nodes(4)]


def _supervisor(tmp_path: Path, node_script: str, count: int = 2) -> subprocess.Popen[bytes]:
    """A supervisor, in a process of its own, over ``count`` copies of ``node_script`` (each
    given its own file to write in as its first argument)."""
    script = tmp_path / "node.py"
    script.write_text(textwrap.dedent(node_script))
    commands = [[sys.executable, str(script), str(tmp_path / f"node-{n}")] for n in range(count)]
    runner = f"""
import sys
from relink.worker import nodes
nodes.RESTART_PAUSE_SECONDS = 0.1
sys.exit(nodes.Supervisor({commands!r}).run())
"""
    return subprocess.Popen([sys.executable, "-c", runner])


def _pids(tmp_path: Path, count: int = 2) -> list[int]:
    return [int(line) for n in range(count) for line in _lines(tmp_path / f"node-{n}")]


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def test_a_node_that_exits_is_started_again(tmp_path: Path) -> None:
    supervisor = _supervisor(
        tmp_path,
        """
        import os, sys
        with open(sys.argv[1], "a") as out:
            print(os.getpid(), file=out)
        sys.exit(3)
        """,
        count=1,
    )
    try:
        wait_until(lambda: len(_pids(tmp_path, 1)) >= 3, what="the node started three times")
    finally:
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=STOP_SECONDS)


def test_stopping_the_worker_lets_every_node_finish_and_stop(tmp_path: Path) -> None:
    supervisor = _supervisor(
        tmp_path,
        """
        import os, signal, sys, time
        path = sys.argv[1]
        def finish(signum, frame):
            with open(path, "a") as out:
                print("stopped", file=out)
            sys.exit(0)
        signal.signal(signal.SIGTERM, finish)
        with open(path, "a") as out:
            print(os.getpid(), file=out)
        while True:
            time.sleep(0.05)
        """,
    )
    wait_until(lambda: len(_pids(tmp_path)) == 2, what="both nodes started")

    supervisor.send_signal(signal.SIGTERM)

    assert supervisor.wait(timeout=STOP_SECONDS) == 0
    for n in range(2):
        assert _lines(tmp_path / f"node-{n}")[-1] == "stopped"


def test_a_worker_killed_without_a_word_takes_its_nodes_with_it(tmp_path: Path) -> None:
    supervisor = _supervisor(
        tmp_path,
        """
        import os, sys, time
        with open(sys.argv[1], "a") as out:
            print(os.getpid(), file=out)
        while True:
            time.sleep(0.05)
        """,
    )
    wait_until(lambda: len(_pids(tmp_path)) == 2, what="both nodes started")
    children = _pids(tmp_path)

    supervisor.kill()
    supervisor.wait(timeout=STOP_SECONDS)

    try:
        wait_until(lambda: all(_gone(pid) for pid in children), what="every node ended")
    finally:
        for pid in children:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
