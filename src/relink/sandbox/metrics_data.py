"""Deterministic daily metrics: the same numbers for the same account and day, on every run.

Derived from a hash of account id and date, so tests and benchmarks can predict them and a
backfill after an outage fills the gap with exactly what would have been imported.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

# Longest range one request may ask for, like real ads APIs' report limits.
MAX_RANGE_DAYS = 400


def day_metrics(account_id: str, day: date) -> dict[str, Any]:
    digest = hashlib.sha256(f"{account_id}|{day.isoformat()}".encode()).digest()
    seed = int.from_bytes(digest[:16], "big")
    impressions = 500 + seed % 20_000
    ctr_basis_points = 50 + (seed >> 24) % 700  # 0.5 % to 7.5 %
    clicks = impressions * ctr_basis_points // 10_000
    cost_per_click_cents = 20 + (seed >> 48) % 280
    conversion_basis_points = 100 + (seed >> 72) % 900  # 1 % to 10 % of clicks
    return {
        "date": day.isoformat(),
        "impressions": impressions,
        "clicks": clicks,
        "cost": round(clicks * cost_per_click_cents / 100, 2),
        "conversions": round(clicks * conversion_basis_points / 10_000, 2),
    }


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def metric_rows(account_id: str, start: date, end: date) -> list[dict[str, Any]]:
    return [day_metrics(account_id, day) for day in days(start, end)]


def malformed_rows(account_id: str, start: date, end: date) -> list[dict[str, Any]]:
    """Rows a careless upstream might send: wrong types, missing fields, a foreign date format."""
    broken: list[dict[str, Any]] = []
    for n, row in enumerate(metric_rows(account_id, start, end)):
        match n % 4:
            case 0:
                broken.append({**row, "impressions": f"{row['impressions']:,}"})
            case 1:
                broken.append({k: v for k, v in row.items() if k != "clicks"})
            case 2:
                broken.append({**row, "cost": f"{row['cost']} USD", "conversions": None})
            case _:
                broken.append({**row, "date": date.fromisoformat(row["date"]).strftime("%d/%m/%Y")})
    return broken
