"""The page figures as a plain table, one line per case: what `make bench` prints, and what
`python -m bench.table` prints again from bench/results/latest.json without measuring."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results") / "latest.json"
HEADER = ("case", "ratio", "ratio@small", "p95 ms", "p95 ms@small", "growth", "ms growth", "")


def render(summary: dict[str, Any], *, sizes: list[str]) -> str:
    """``summary`` (scale.summarize's) as aligned columns: each case's p95 over the reference's
    at the largest size and at the smallest, its p95 at each, the growth of its ratio (what the
    target judges) and of its p95, and a mark where it missed."""
    targets = summary.get("targets", {})
    lines = [
        f"sizes {sizes[0]} -> {sizes[-1]}; targets: ratio {targets.get('ratio_p95')},"
        f" growth {targets.get('growth_ratio')}"
    ]
    rows = [HEADER]
    for case, figures in summary.get("pages", {}).items():
        rows.append(
            (
                case,
                f"{figures['ratio_p95']:.2f}",
                f"{figures['ratio_p95_smallest']:.2f}",
                f"{figures['p95_ms']:.2f}",
                f"{figures['p95_ms_smallest']:.2f}",
                f"{figures['growth_ratio']:.2f}",
                f"{figures['growth_p95']:.2f}",
                "" if figures["met"] else "MISSED",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    unmet = summary.get("unmet", [])
    lines.append(f"missed: {', '.join(unmet)}" if unmet else "every case met its targets")
    return "\n".join(lines)


def main() -> None:
    report = json.loads((Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS).read_text())
    for name, run in report["runs"].items():
        if "read" in run:
            print(f"== {name}")
            print(render(run["read"]["summary"], sizes=sorted(run["read"]["sizes"], key=int)))


if __name__ == "__main__":
    main()
