"""The report's figure, drawn with matplotlib (the `reproduce` extra): one strip per claim, each
on its own axis in the claim's own units, because claims mix scales (an R² of 0.5 beside a count
of 12 steps).

On each strip the paper's value is a line inside its tolerance band (dark: match) and the band
of three tolerances (light: close); the reproduced value is a large dot, each seed's value a small
one, coloured by the verdict. A value agentcli could not verify is drawn hollow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # no display needed, and the same bytes on every machine

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from agentcli.reproduce.verdicts import CLOSE_FACTOR, allowed_difference  # noqa: E402

if TYPE_CHECKING:
    from agentcli.reproduce.verdicts import Row

COLOURS = {"match": "#2b8a3e", "close": "#e67700", "mismatch": "#c92a2a", "unverified": "#5f3dc4",
           "not attempted": "#868e96"}
_BAND, _CLOSE_BAND = "#b2f2bb", "#ebfbee"


@dataclass(frozen=True)
class Strip:
    """What one claim's strip shows, in the claim's units."""

    label: str
    paper: float
    band: tuple[float, float]        # paper ± tolerance
    close_band: tuple[float, float]  # paper ± 3 × tolerance
    reproduced: float | None
    seeds: tuple[float, ...]
    colour: str
    hollow: bool
    note: str
    xlim: tuple[float, float]


def strip(row: Row) -> Strip:
    """The strip of one row of the report."""
    allowed = row.allowed if row.allowed is not None else allowed_difference(row.claim)
    unit = row.claim.get("unit") or ""
    label = f"{row.id}\n({unit})" if unit else row.id
    shown = [row.paper - CLOSE_FACTOR * allowed, row.paper + CLOSE_FACTOR * allowed, *row.per_seed]
    if row.reproduced is not None:
        shown.append(row.reproduced)
    lo, hi = min(shown), max(shown)
    pad = (hi - lo) * 0.12 or abs(row.paper) * 0.05 or 1.0
    suffix = f" {unit}" if unit else ""
    note = f"{row.verdict}\npaper {_num(row.paper)}{suffix} ± {_num(allowed)}"
    if row.reproduced is not None:
        note += f", reproduced {_num(row.reproduced)}"
    return Strip(label, row.paper, (row.paper - allowed, row.paper + allowed),
                 (row.paper - CLOSE_FACTOR * allowed, row.paper + CLOSE_FACTOR * allowed),
                 row.reproduced, tuple(row.per_seed), COLOURS[row.verdict],
                 row.verdict == "unverified", note, (lo - pad, hi + pad))


def draw(rows: list[Row], path: Path, *, title: str) -> Path:
    """Draw the figure for `rows` into `path` (PNG) and return the path."""
    strips = [strip(r) for r in rows]
    height = 1.6 + 0.75 * len(strips)
    fig, axes = plt.subplots(len(strips), 1, figsize=(10, height), squeeze=False)
    for ax, s in zip(axes[:, 0], strips, strict=True):
        _draw_strip(ax, s)
    fig.suptitle(_shorten(title, 90), fontsize=11, y=1 - 0.12 / height)
    fig.legend(handles=_legend(), loc="upper center", ncol=4, fontsize=7, frameon=False,
               bbox_to_anchor=(0.45, 1 - 0.38 / height))
    # Room above for the title and legend, and on the right for each strip's verdict.
    fig.subplots_adjust(left=0.1, right=0.7, top=1 - 1.15 / height, bottom=0.35 / height, hspace=0.9)
    # No Software/date metadata, so the same report gives the same file.
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path


def _draw_strip(ax, s: Strip) -> None:
    ax.axvspan(*s.close_band, color=_CLOSE_BAND, zorder=0)
    ax.axvspan(*s.band, color=_BAND, zorder=1)
    ax.axvline(s.paper, color="#212529", linewidth=1.2, zorder=2)
    offsets = [(-0.25 + 0.5 * i / max(1, len(s.seeds) - 1)) if len(s.seeds) > 1 else 0.0
               for i in range(len(s.seeds))]
    ax.scatter(s.seeds, offsets, s=14, color=s.colour, alpha=0.7, zorder=3, linewidths=0)
    if s.reproduced is not None:
        ax.scatter([s.reproduced], [0], s=70, zorder=4, linewidths=1.8, edgecolors=s.colour,
                   facecolors="none" if s.hollow else s.colour)
    ax.text(1.02, 0.5, s.note, transform=ax.transAxes, va="center", ha="left", fontsize=8,
            color=s.colour)
    ax.set_xlim(*s.xlim)
    ax.set_ylim(-0.6, 0.6)
    ax.set_yticks([0])
    ax.set_yticklabels([s.label], fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


def _legend() -> list:
    dot = dict(marker="o", linestyle="none", markersize=7)
    return [Line2D([], [], color="#212529", label="paper value"),
            Patch(color=_BAND, label="± tolerance (match)"),
            Patch(color=_CLOSE_BAND, label=f"± {CLOSE_FACTOR:g}× tolerance (close)"),
            Line2D([], [], color=COLOURS["match"], label="reproduced: match", **dot),
            Line2D([], [], color=COLOURS["close"], label="close", **dot),
            Line2D([], [], color=COLOURS["mismatch"], label="mismatch", **dot),
            Line2D([], [], markeredgecolor=COLOURS["unverified"], markerfacecolor="none",
                   label="unverified (hollow)", **dot),
            Line2D([], [], color=COLOURS["match"], marker="o", linestyle="none", markersize=4,
                   alpha=0.7, label="one seed")]


def _num(value: float) -> str:
    return f"{value:.4g}"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
