"""REPORT.md from a workdir: the paper-vs-reproduced table, the deviations and a figure.

Deterministic and model-free: the same files give the same bytes (no dates, no absolute paths),
so a report can be committed and checked. A half-finished workdir gets a report that says what
is missing instead of an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentcli.reproduce import CLAIMS, DEVIATIONS, FIGURE, PAPER_MD, PLAN, REPORT, RESULTS, STATE_DIR
from agentcli.reproduce.checks import check_claims, check_results
from agentcli.secrets import redact

LOCKED_CLAIMS = "claims.phase1.json"


@dataclass
class Row:
    """One claim beside its measurement. `status`: within, outside, failed (measured as null)
    or missing (no valid result)."""

    claim: dict[str, Any]
    result: dict[str, Any] | None
    status: str
    difference: float | None = None
    allowed: float | None = None

    @property
    def id(self) -> str:
        return self.claim["id"]

    @property
    def paper(self) -> float:
        return float(self.claim["value"])

    @property
    def reproduced(self) -> float | None:
        value = (self.result or {}).get("value")
        return None if value is None else float(value)


@dataclass
class Report:
    """What `build` found and wrote."""

    title: str
    rows: list[Row] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    changed_claims: list[str] = field(default_factory=list)
    figure: str | None = None
    figure_note: str | None = None
    stopped: str | None = None  # the phase the reproduction stopped in, why, and how to go on

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def complete(self) -> bool:
        return bool(self.rows) and not self.missing and not self.problems

    def summary(self) -> str:
        """One line: `3 of 4 claims within tolerance, 1 outside, 0 missing`."""
        if not self.rows:
            return "no claims to compare yet"
        parts = [f"{self.count('within')} of {len(self.rows)} claims within tolerance",
                 f"{self.count('outside')} outside"]
        if self.count("failed"):
            parts.append(f"{self.count('failed')} not measured")
        parts.append(f"{self.count('missing')} missing")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "complete": self.complete, "summary": self.summary(),
                "within": self.count("within"), "outside": self.count("outside"),
                "failed": self.count("failed"), "missing_results": self.count("missing"),
                "claims": len(self.rows), "missing": self.missing, "problems": self.problems,
                "stopped": self.stopped, "figure": self.figure,
                "rows": [{"id": r.id, "paper": r.paper, "reproduced": r.reproduced,
                          "difference": r.difference, "allowed": r.allowed, "status": r.status}
                         for r in self.rows]}


def allowed_difference(claim: dict[str, Any]) -> float:
    """The largest |reproduced - paper| that still counts: max(absolute, relative * |paper|)."""
    tol = claim.get("tolerance") or {}
    return max(float(tol.get("absolute", 0.0)), float(tol.get("relative", 0.0)) * abs(float(claim["value"])))


def compare(claim: dict[str, Any], result: dict[str, Any] | None) -> Row:
    """One row of the table."""
    if result is None:
        return Row(claim, None, "missing")
    if result.get("value") is None:
        return Row(claim, result, "failed")
    difference = float(result["value"]) - float(claim["value"])
    allowed = allowed_difference(claim)
    # A hair of slack so a value printed to the tolerance's precision is not failed by rounding.
    within = abs(difference) <= allowed * (1 + 1e-9) + 1e-12
    return Row(claim, result, "within" if within else "outside", difference, allowed)


def build(workdir: Path, *, figure: bool = True) -> Report:
    """Read the workdir, write REPORT.md (and the figure), and return what was found."""
    workdir = Path(workdir)
    claims = check_claims(workdir)
    title = _title(claims.doc)
    report = Report(title)
    if not (workdir / PAPER_MD).is_file():
        report.missing.append(f"{PAPER_MD}: the paper has not been extracted")
    if not claims.exists:
        report.missing.append(f"{CLAIMS}: phase 1 (claims) has not written it")
    elif claims.errors:
        report.problems += [f"{CLAIMS}: {e}" for e in claims.errors]
    if not (workdir / PLAN).is_file():
        report.missing.append(f"{PLAN}: phase 2 (plan) has not written it")
    results = check_results(workdir, claims.ids, require_all=False)
    if claims.claims:
        if not results.exists:
            report.missing.append(f"{RESULTS}: phase 3 (build and run) has not written it")
        else:
            report.problems += [f"{RESULTS}: {e}" for e in results.errors]
        report.rows = [compare(c, results.entries.get(c["id"])) for c in claims.claims]
        absent = [r.id for r in report.rows if r.status == "missing"]
        if absent and results.exists:
            report.missing.append(f"{RESULTS}: no valid result for {', '.join(absent)}")
    if not (workdir / DEVIATIONS).is_file():
        report.missing.append(f"{DEVIATIONS}: phase 3 has not written it (every departure from the "
                              "paper goes there; write 'None.' if there were none)")
    report.changed_claims = _changed_since_phase1(workdir, claims.claims)
    report.stopped = _stopped(workdir)
    if figure and report.rows:
        _draw(workdir, report)
    # Commands and notes come from the agent; a token in one must not land in a shared report.
    (workdir / REPORT).write_text(redact(render(workdir, report)), encoding="utf-8")
    return report


def _draw(workdir: Path, report: Report) -> None:
    try:
        from agentcli.reproduce.figure import draw
    except ImportError:
        report.figure_note = ("figure not drawn: matplotlib is not installed "
                              "(pip install 'agentcli[reproduce]')")
        return
    draw(report.rows, workdir / FIGURE, title=report.title)
    report.figure = FIGURE


def _title(doc: Any) -> str:
    if isinstance(doc, dict) and isinstance(doc.get("paper"), dict):
        title = doc["paper"].get("title")
        if isinstance(title, str) and title.strip():
            return title.strip()
    return "(untitled paper)"


def _changed_since_phase1(workdir: Path, claims: list[dict[str, Any]]) -> list[str]:
    """Claims whose paper value, tolerance or setup changed after phase 1 left them."""
    locked = workdir / STATE_DIR / LOCKED_CLAIMS
    try:
        before = {c["id"]: c for c in json.loads(locked.read_text(encoding="utf-8"))["claims"]}
    except (OSError, ValueError, KeyError, TypeError):
        return []
    changes = []
    now = {c["id"]: c for c in claims}
    for cid, old in before.items():
        new = now.get(cid)
        if new is None:
            changes.append(f"{cid}: removed after phase 1")
            continue
        for key in ("value", "tolerance", "metric", "setup"):
            if old.get(key) != new.get(key):
                changes.append(f"{cid}: {key} changed after phase 1: {_j(old.get(key))} → {_j(new.get(key))}")
    changes += [f"{cid}: added after phase 1" for cid in now if cid not in before]
    return changes


def _stopped(workdir: Path) -> str | None:
    """From .reproduce/state.json: the phase that stopped short, why, and the command to go on."""
    try:
        state = json.loads((workdir / STATE_DIR / "state.json").read_text(encoding="utf-8"))
        phases = state["phases"]
        for number, name in enumerate(("claims", "plan", "build"), 1):
            ps = phases.get(name) or {}
            if ps.get("status") == "failed":
                why = ps.get("message") or f"phase {number} stopped"
                return (f"The reproduction stopped in phase {number} (`{ps.get('stop_reason')}`): {why}. "
                        f"Go on with `agentcli reproduce --resume {state['id']}`.")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return None


def _j(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:79] + "…"


# -- markdown -----------------------------------------------------------------------------------

def num(value: float | None) -> str:
    """Numbers as a reader expects them: up to 6 significant digits, no exponent for ordinary sizes."""
    if value is None:
        return "—"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _difference(row: Row) -> str:
    if row.difference is None:
        return "—"
    text = f"{row.difference:+.4g}"
    if row.paper:
        text += f" ({100 * row.difference / abs(row.paper):+.2g}%)"
    return text


def _tolerance(claim: dict[str, Any]) -> str:
    tol = claim.get("tolerance") or {}
    parts = []
    if float(tol.get("absolute", 0)):
        parts.append(f"±{num(float(tol['absolute']))}")
    if float(tol.get("relative", 0)):
        parts.append(f"±{float(tol['relative']) * 100:.3g}%")
    return " or ".join(parts) or "exact"


_VERDICT = {"within": "yes", "outside": "**no**", "failed": "not measured", "missing": "missing"}


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


# The line every REPORT.md agentcli writes carries: one without it is somebody else's file.
HEADER = "Written by `agentcli reproduce report`"


def render(workdir: Path, report: Report) -> str:
    """REPORT.md's text."""
    out = [f"# Reproduction report: {report.title}", ""]
    out.append(HEADER + " from claims.json and results.json; deterministic, no model involved.")
    out += ["", f"**{report.summary()}.**" if report.rows else f"**{report.summary()}.**", ""]
    if not report.complete:
        out += ["This reproduction is **incomplete**: see [What is missing](#what-is-missing).", ""]
    if report.stopped:
        out += [_cell(report.stopped), ""]
    if report.rows:
        out += ["## Paper vs reproduced", "",
                "| Claim | Source | Metric | Paper | Reproduced | Difference | Tolerance | Within tolerance |",
                "|---|---|---|---:|---:|---:|---|---|"]
        for row in report.rows:
            c = row.claim
            src = c["source"]["location"] + (f", p. {c['source']['page']}" if c["source"].get("page") else "")
            unit = f" {c['unit']}" if c.get("unit") else ""
            out.append(f"| {_cell(row.id)} | {_cell(src)} | {_cell(c['metric'])} | {num(row.paper)}{unit} "
                       f"| {num(row.reproduced)}{unit if row.reproduced is not None else ''} "
                       f"| {_difference(row)} | {_tolerance(c)} | {_VERDICT[row.status]} |")
        out.append("")
        if report.figure:
            out += [f"![Paper vs reproduced]({report.figure})", ""]
        elif report.figure_note:
            out += [f"_{report.figure_note}_", ""]
        out += _claims_section(report.rows)
        out += _runs_section(report.rows)
    out += _deviations_section(workdir)
    if report.changed_claims:
        out += ["## Claims changed after phase 1", "",
                "Phase 1 fixed these numbers from the paper; they were edited later. Check each "
                "edit against PAPER.md.", ""]
        out += [f"- {_cell(c)}" for c in report.changed_claims] + [""]
    if not report.complete:
        out += ["## What is missing", ""]
        out += [f"- {_cell(m)}" for m in report.missing]
        out += [f"- {_cell(p)}" for p in report.problems]
        if not report.rows and not report.missing and not report.problems:
            out.append("- no claims yet")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _claims_section(rows: list[Row]) -> list[str]:
    out = ["## Claims", ""]
    for row in rows:
        c = row.claim
        setup = c.get("setup") or {}
        out.append(f"- **{_cell(row.id)}** ({_cell(c['metric'])}): {_cell(c['description'])} "
                   f"— dataset: {_cell(setup.get('dataset', '?'))}; method: {_cell(setup.get('method', '?'))}")
        if c["source"].get("quote"):
            out.append(f"  > {_cell(c['source']['quote'])}")
    return out + [""]


def _runs_section(rows: list[Row]) -> list[str]:
    measured = [r for r in rows if r.result is not None]
    if not measured:
        return []
    out = ["## Runs", "", "| Claim | Run | Seed | Command | Notes |", "|---|---|---|---|---|"]
    for row in measured:
        r = row.result or {}
        seed = "—" if r.get("seed") is None else json.dumps(r["seed"])
        out.append(f"| {_cell(row.id)} | {_cell(r['run_id'])} | {seed} | `{_cell(r['command'])}` "
                   f"| {_cell(r.get('notes', ''))} |")
    return out + [""]


def _deviations_section(workdir: Path) -> list[str]:
    out = ["## Deviations from the paper", ""]
    path = workdir / DEVIATIONS
    if not path.is_file():
        return out + ["_DEVIATIONS.md is missing._", ""]
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    lines = text.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]  # the file's own title; this section has one
    # Demote the file's headings below this section's level.
    body = "\n".join(("##" + ln) if ln.startswith("#") else ln for ln in lines).strip()
    return out + [body or "_DEVIATIONS.md is empty._", ""]
