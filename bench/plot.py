"""bench/results/latest.png: p95 latency against size, one line per figure, per database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

LINES = (
    ("admin", "api", "API, admin"),
    ("staff_all", "api", "API, staff (every client)"),
    ("staff_50", "api", "API, staff (50 clients)"),
    ("admin", "html", "page, admin"),
    ("staff_all", "html", "page, staff (every client)"),
    ("staff_50", "html", "page, staff (50 clients)"),
    ("client", "html", "pages, client login"),
)


def draw(report: dict[str, Any], path: Path) -> None:
    runs = {name: run["read"] for name, run in report["runs"].items() if "read" in run}
    figure, axes = plt.subplots(1, max(1, len(runs)), figsize=(6.5 * max(1, len(runs)), 4.5))
    axes_list = axes if len(runs) > 1 else [axes]
    for ax, (name, read) in zip(axes_list, runs.items(), strict=False):
        sizes = sorted(read["sizes"], key=int)
        xs = [int(s) for s in sizes]
        for role, kind, label in LINES:
            ys = [read["sizes"][s][role][kind]["p95_ms"] for s in sizes]
            ax.plot(xs, ys, marker="o", label=f"{label}: slowest case p95")
        reference = [read["sizes"][s]["admin"]["api"]["reference_p95_ms"] for s in sizes]
        ax.plot(
            xs,
            reference,
            marker="o",
            linestyle="--",
            color="grey",
            label="/healthz p95 (reference)",
        )
        largest = read["sizes"][sizes[-1]]
        if "unread" in largest:
            ax.scatter(
                [xs[-1]],
                [largest["unread"]["p95_ms"]],
                marker="s",
                label="unread count p95 (200 pollers)",
            )
        if "sse" in largest:
            ax.scatter(
                [xs[-1]],
                [largest["sse"]["p95_ms"]],
                marker="^",
                label="SSE update p95 (500 streams)",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("data sources")
        ax.set_ylabel("p95 latency (ms)")
        ax.set_title(f"Relink read side on {name}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
