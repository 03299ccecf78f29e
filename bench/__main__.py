"""`make bench`: measure, print, and write bench/results/latest.json and latest.png.

Runs on the embedded SQLite default always, and on PostgreSQL when RELINK_BENCH_PG_URL is set
(`make bench` sets it to a fresh local database when one answers). The write-side figures
(bench/write_paths.py: sweep, revoke, reconnect) and detection
(bench/detection.py) run in databases of their own.
RELINK_BENCH_SIZES (e.g. "1000,10000") narrows the sizes, RELINK_BENCH_DATABASES (e.g.
"postgresql") the databases, and RELINK_BENCH_ONLY the parts (a comma-separated list of
``PARTS``: "pages" is the read side's page figures without the bell), for a quicker look.
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

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from bench import detection, importer_figures, plot, scale, table, write_paths

RESULTS = Path(__file__).with_name("results")
# What RELINK_BENCH_ONLY may name: the read side with the bell, its page figures alone, the
# write side, detection, and credentials on request (issue 25's importers).
PARTS = ("read", "pages", "write", "detection", "importers")


def _sizes() -> tuple[int, ...]:
    chosen = os.environ.get("RELINK_BENCH_SIZES", "")
    return tuple(int(s) for s in chosen.split(",") if s.strip()) or scale.SIZES


def _parts() -> set[str]:
    chosen = {p.strip() for p in os.environ.get("RELINK_BENCH_ONLY", "").split(",") if p.strip()}
    unknown = chosen - set(PARTS)
    if unknown:
        raise SystemExit(f"RELINK_BENCH_ONLY names {sorted(unknown)}: choose among {PARTS}")
    return chosen or {"read", "write", "detection"}


def fresh_postgres(url: str, *, suffix: str) -> str:
    """An empty database beside ``url``'s (dropped first if left over), and its URL."""
    parsed = make_url(url)
    name = f"{parsed.database}{suffix}"
    admin = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return parsed.set(database=name).render_as_string(hide_password=False)


def _own_database(name: str, url: str, tmp: str, *, suffix: str) -> str:
    """A fresh database for one part of the bench, beside the run's own."""
    if name == "postgresql":
        return fresh_postgres(url, suffix=suffix)
    return f"sqlite+aiosqlite:///{tmp}/bench{suffix}.db"


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "reference": "GET /healthz (touches no database), same run, same load",
        "runs": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        targets = {"sqlite": f"sqlite+aiosqlite:///{tmp}/bench.db"}
        if os.environ.get("RELINK_BENCH_PG_URL"):
            targets["postgresql"] = os.environ["RELINK_BENCH_PG_URL"]
        chosen = os.environ.get("RELINK_BENCH_DATABASES")
        if chosen:
            targets = {k: v for k, v in targets.items() if k in chosen.split(",")}
        parts = _parts()
        for name, url in targets.items():
            report["runs"][name] = {}
            if parts & {"read", "pages"}:
                print(f"== read side on {name}: sizes {', '.join(map(str, _sizes()))}")
                figures = asyncio.run(scale.run(url, sizes=_sizes(), bell="read" in parts))
                report["runs"][name]["read"] = figures
                print(table.render(figures["summary"], sizes=sorted(figures["sizes"], key=int)))
            # Each side gets a database of its own: the read side's agency stays out of its way.
            if "write" in parts:
                print(f"== write side on {name}")
                write_url = _own_database(name, url, tmp, suffix="_write")
                report["runs"][name]["write"] = wrote = asyncio.run(write_paths.run(write_url))
                print(json.dumps(wrote, indent=2, default=str))
            if "detection" in parts:
                print(f"== detection on {name}")
                detection_url = _own_database(name, url, tmp, suffix="_detection")
                found = asyncio.run(detection.run(detection_url))
                report["runs"][name]["detection"] = found
                print(json.dumps(found, indent=2, default=str))
            if "importers" in parts:
                print(f"== credentials on request on {name}")
                importers_url = _own_database(name, url, tmp, suffix="_importers")
                handed = asyncio.run(importer_figures.run(importers_url))
                report["runs"][name]["importers"] = handed
                print(json.dumps(handed, indent=2, default=str))
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    plot.draw(report, RESULTS / "latest.png")
    print(f"written to {RESULTS / 'latest.json'} and {RESULTS / 'latest.png'}")


if __name__ == "__main__":
    main()
