"""A reporting platform's own importer for the sandbox's data API, with Relink underneath.

It uses only Relink's API: the work list (which data sources, which days), credentials on
request, a failure report for each failed provider call (and does what the answer says), and
a confirmation of the days it imported. Its "warehouse" is a SQLite file of its own.

    python examples/platform_importer.py --relink http://127.0.0.1:8000 \\
        --token "$IMPORTER_TOKEN" --warehouse var/warehouse.db [--every 60]

README.md, "Relink under your own importers", shows how to run it against ``make run``.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import httpx

from relink_client import Credentials, RelinkClient, RelinkRefused, Wanted

# A provider call's own limit; a call that times out is reported as "no answer".
PROVIDER_TIMEOUT_SECONDS = 20.0


@dataclass
class Outcome:
    """What one pass did, by data source: imported days, stopped, or to retry later."""

    days: Counter[int] = field(default_factory=Counter)
    stopped: dict[int, str] = field(default_factory=dict)
    later: dict[int, float] = field(default_factory=dict)


class Warehouse:
    """The platform's own tables: one row per data source and day."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS metrics (data_source_id INTEGER, day TEXT, "
            "figures TEXT, PRIMARY KEY (data_source_id, day))"
        )

    def write(self, data_source_id: int, rows: list[dict[str, object]]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?)",
            [(data_source_id, str(row["date"]), json.dumps(row)) for row in rows],
        )
        self.db.commit()

    def days(self, data_source_id: int) -> set[str]:
        found = self.db.execute(
            "SELECT day FROM metrics WHERE data_source_id = ?", (data_source_id,)
        )
        return {day for (day,) in found}


# The data API this importer knows: the sandbox's (the demo's stand-in for Google Ads).
PROVIDER = "sandbox"


def import_once(relink: RelinkClient, warehouse: Warehouse, provider: httpx.Client) -> Outcome:
    """One pass over the work list."""
    outcome = Outcome()
    for source in relink.wanted():
        if source.provider != PROVIDER or source.first_day is None or source.last_day is None:
            continue
        try:
            _import(relink, warehouse, provider, source, outcome)
        except RelinkRefused as refused:
            if refused.code == "reconnect_needed":
                outcome.stopped[source.data_source_id] = refused.detail
            elif refused.status == 503:
                outcome.later[source.data_source_id] = float(refused.retry_after or 30)
            else:
                raise
    return outcome


def _import(
    relink: RelinkClient,
    warehouse: Warehouse,
    provider: httpx.Client,
    source: Wanted,
    outcome: Outcome,
) -> None:
    assert source.first_day is not None and source.last_day is not None
    credentials = relink.credentials(source.data_source_id)
    for _ in range(2):  # the call, and once more when Relink hands a fresh token
        answer = _call(provider, credentials, source.first_day, source.last_day)
        if answer is not None and answer.status_code == 200:
            rows = answer.json()["rows"]
            warehouse.write(source.data_source_id, rows)
            relink.confirm(source.data_source_id, first=source.first_day, last=source.last_day)
            outcome.days[source.data_source_id] += len(rows)
            return
        advice = relink.report_failure(
            source.data_source_id,
            answer,
            key=str(uuid.uuid4()),
            token_generation=credentials.token_generation,
            call=("GET", _url(credentials)),
        )
        if advice.action == "retry_now" and advice.credentials is not None:
            credentials = advice.credentials
            continue
        if advice.action == "stop":
            outcome.stopped[source.data_source_id] = advice.hint
        else:
            outcome.later[source.data_source_id] = advice.retry_after_seconds or 60.0
        return


def _url(credentials: Credentials) -> str:
    return f"{credentials.api_base}/api/accounts/{credentials.account_id}/metrics"


def _call(
    provider: httpx.Client, credentials: Credentials, first: date, last: date
) -> httpx.Response | None:
    """The sandbox's data API, called as the credentials say; None when no answer came."""
    try:
        return provider.get(
            _url(credentials),
            params={"start": first.isoformat(), "end": last.isoformat(), **credentials.query},
            headers=credentials.headers,
        )
    except httpx.TransportError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--relink", required=True, help="Relink's base URL")
    parser.add_argument("--token", required=True, help="A service token of the agency")
    parser.add_argument("--warehouse", default="warehouse.db", help="The SQLite file to fill")
    parser.add_argument("--every", type=float, default=0, help="Seconds between passes; 0: once")
    options = parser.parse_args()
    warehouse = Warehouse(options.warehouse)
    with (
        RelinkClient(options.relink, options.token) as relink,
        httpx.Client(timeout=PROVIDER_TIMEOUT_SECONDS) as provider,
    ):
        while True:
            outcome = import_once(relink, warehouse, provider)
            print(
                f"imported {sum(outcome.days.values())} days of {len(outcome.days)} data "
                f"sources; stopped {len(outcome.stopped)}; later {len(outcome.later)}"
            )
            for source_id, why in outcome.stopped.items():
                print(f"  data source {source_id} stopped: {why}")
            if not options.every:
                return
            time.sleep(options.every)


if __name__ == "__main__":
    main()
