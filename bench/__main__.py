"""`make bench`: print the figures and write them to bench/results/latest.json.

Runs on the embedded SQLite default always, and on PostgreSQL when RELINK_BENCH_PG_URL is set
(`make bench` sets it to the local test server when one answers).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import scale, write_paths

RESULTS = Path(__file__).with_name("results")


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "runs": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        targets = {"sqlite": f"sqlite+aiosqlite:///{tmp}/bench.db"}
        if os.environ.get("RELINK_BENCH_PG_URL"):
            targets["postgresql"] = os.environ["RELINK_BENCH_PG_URL"]
        for name, url in targets.items():
            print(f"== scale on {name}: {scale.CLIENTS} clients, {scale.DATA_SOURCES} data sources")
            figures = asyncio.run(scale.run(url))
            figures["write_paths"] = asyncio.run(write_paths.run(url))
            report["runs"][name] = figures
            for key, value in figures.items():
                print(f"  {key:32} {value}")
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    main()
