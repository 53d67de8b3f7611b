"""The report's figure: paper vs reproduced, as a PNG drawn with matplotlib (the `reproduce` extra).

Two panels, because claims mix scales (an R² of 0.5 beside a count of 12 steps): on the left
each claim's reproduced value against the paper's, on the identity line when they agree; on the
right each difference in units of its tolerance, so the band from -1 to 1 is "reproduced".
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # no display needed, and the same bytes on every machine

import matplotlib.pyplot as plt  # noqa: E402

if TYPE_CHECKING:
    from agentcli.reproduce.report import Row

COLOURS = {"within": "#2b8a3e", "outside": "#c92a2a", "failed": "#868e96", "missing": "#868e96"}


def draw(rows: list[Row], path: Path, *, title: str) -> Path:
    """Draw the figure for `rows` into `path` (PNG) and return the path."""
    height = max(3.2, 0.9 + 0.32 * len(rows))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, height), gridspec_kw={"width_ratios": [1, 1.3]})
    _scatter(left, rows)
    _deviations(right, rows)
    fig.suptitle(_shorten(title, 90), fontsize=11)
    fig.tight_layout()
    # No Software/date metadata, so the same report gives the same file.
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def _scatter(ax, rows: list[Row]) -> None:
    pairs = [(r.paper, r.reproduced, r) for r in rows if r.reproduced is not None]
    ax.set_title("Reproduced vs paper value", fontsize=10)
    ax.set_xlabel("paper")
    ax.set_ylabel("reproduced")
    if not pairs:
        ax.text(0.5, 0.5, "nothing measured yet", ha="center", va="center", transform=ax.transAxes)
        return
    values = [v for p, q, _ in pairs for v in (p, q)]
    positive = all(v > 0 for v in values)
    if positive and max(values) / min(values) > 100:
        ax.set_xscale("log")
        ax.set_yscale("log")
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.1 or 1.0
    span = (lo / 1.5, hi * 1.5) if ax.get_xscale() == "log" else (lo - pad, hi + pad)
    ax.plot(span, span, color="#adb5bd", linewidth=1, zorder=1, label="reproduced = paper")
    for paper, reproduced, row in pairs:
        ax.scatter([paper], [reproduced], color=COLOURS[row.status], zorder=2, s=28)
        ax.annotate(row.id, (paper, reproduced), textcoords="offset points", xytext=(4, 3), fontsize=7)
    ax.set_xlim(span)
    ax.set_ylim(span)
    ax.legend(loc="upper left", fontsize=7, frameon=False)


def _deviations(ax, rows: list[Row]) -> None:
    ax.set_title("Difference in units of tolerance (|x| ≤ 1: reproduced)", fontsize=10)
    labels = [r.id for r in rows]
    ys = list(range(len(rows)))[::-1]
    limit = 1.5
    for y, row in zip(ys, rows):
        if row.difference is None:
            ax.text(0, y, "missing" if row.status == "missing" else "not measured", ha="center",
                    va="center", fontsize=7, color=COLOURS[row.status])
            continue
        if row.allowed:
            units = row.difference / row.allowed
        else:  # an exact claim: on the band's edge when it matches, far off when it does not
            units = 0.0 if row.difference == 0 else math.copysign(10.0, row.difference)
        limit = max(limit, min(abs(units), 50) * 1.15)
        shown = max(min(units, 50), -50)
        ax.barh(y, shown, color=COLOURS[row.status], height=0.55)
        ax.scatter([shown], [y], color=COLOURS[row.status], s=14, zorder=3)  # visible when tiny
    ax.axvspan(-1, 1, color="#d3f9d8", zorder=0)
    ax.axvline(0, color="#495057", linewidth=0.8)
    ax.set_xlim(-limit, limit)
    ax.set_yticks(ys)
    ax.set_yticklabels([_shorten(label, 24) for label in labels], fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("(reproduced − paper) / allowed difference")


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
