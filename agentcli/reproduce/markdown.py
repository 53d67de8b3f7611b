"""REPORT.md's text, from what `report.build` found."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentcli.reproduce import DEVIATIONS
from agentcli.reproduce.reportdata import HEADER, Report
from agentcli.reproduce.verdicts import CLOSE_FACTOR, LOCKED_CLAIMS, Row
from agentcli.reproduce.verify import ENVIRONMENT

_VERDICT_CELL = {"match": "match", "close": "close", "mismatch": "**mismatch**",
                 "unverified": "**unverified**", "not attempted": "not attempted"}


def num(value: float | None) -> str:
    """Numbers as a reader expects them: up to 6 significant digits, no exponent for ordinary sizes."""
    if value is None:
        return "—"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _difference(row: Row) -> str:
    if row.difference is None:
        return "—"
    text = f"{row.difference:+.4g}"
    if row.paper:
        text += f" ({100 * row.difference / abs(row.paper):+.2g}%)"
    return text


def tolerance_text(claim: dict[str, Any]) -> str:
    tol = claim.get("tolerance") or {}
    parts = []
    if float(tol.get("absolute", 0)):
        parts.append(f"±{num(float(tol['absolute']))}")
    if float(tol.get("relative", 0)):
        parts.append(f"±{float(tol['relative']) * 100:.3g}%")
    return " or ".join(parts) or "exact"


def render(workdir: Path, report: Report) -> str:
    """REPORT.md's text."""
    out = [f"# Reproduction report: {report.title}", "",
           HEADER + " from claims.json, results.json and agentcli's own re-run of each command "
           "(environment.json); deterministic, no model involved.", "",
           f"**{_cell(report.summary())}.**", ""]
    if not report.complete:
        out += ["This reproduction is **incomplete**: see [What is missing](#what-is-missing).", ""]
    if report.stopped:
        out += [_cell(report.stopped), ""]
    if report.rows:
        out += _table(report)
        if report.figure:
            out += [f"![Paper vs reproduced]({report.figure})", ""]
        elif report.figure_note:
            out += [f"_{report.figure_note}_", ""]
        out += _checked_section(report.rows)
        out += _claims_section(report.rows)
    out += environment_section(report.environment)
    out += _deviations_section(workdir)
    if report.changed:
        out += ["## Claims changed after phase 1", "",
                "Phase 1 fixed these claims before any result existed; they were edited later. The "
                "verdicts above judge them as phase 1 fixed them.", ""]
        out += [f"- {_cell(cid)}: {_cell(change)}" for cid, changes in report.changed.items()
                for change in changes] + [""]
    if not report.complete:
        out += ["## What is missing", ""]
        out += [f"- {_cell(m)}" for m in report.missing]
        out += [f"- {_cell(p)}" for p in report.problems]
        if not report.rows and not report.missing and not report.problems:
            out.append("- no claims yet")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _table(report: Report) -> list[str]:
    out = ["## Paper vs reproduced", "",
           "| Claim | Source | Metric | Paper | Reproduced | Difference | Tolerance | Verdict |",
           "|---|---|---|---:|---:|---:|---|---|"]
    for row in report.rows:
        c = row.claim
        src = c["source"]["location"] + (f", p. {c['source']['page']}" if c["source"].get("page") else "")
        unit = f" {c['unit']}" if c.get("unit") else ""
        out.append(f"| {_cell(row.id)} | {_cell(src)} | {_cell(c['metric'])} | {num(row.paper)}{unit} "
                   f"| {num(row.reproduced)}{unit if row.reproduced is not None else ''} "
                   f"| {_difference(row)} | {tolerance_text(c)} | {_VERDICT_CELL[row.verdict]} |")
    factor = num(CLOSE_FACTOR)
    out += ["", f"Verdicts: **match** within tolerance, **close** within {factor}× tolerance, "
            f"**mismatch** further off, each only for a value agentcli's own re-run of its command "
            "printed; **unverified** a value no re-run backs, whatever its size; **not attempted** no "
            "value. " + (f"Tolerances are the ones phase 1 fixed (`.reproduce/{LOCKED_CLAIMS}`), "
                         "before any result existed." if report.phase1_copy else
                         f"There is no phase-1 copy of the claims (`.reproduce/{LOCKED_CLAIMS}`): "
                         "the tolerances are judged as claims.json has them now, and nothing shows "
                         "whether they were chosen before the results."), ""]
    return out


def _checked_section(rows: list[Row]) -> list[str]:
    out = ["## How each value was checked", "",
           "agentcli ran each command again itself, in the workdir, and looked for the reported "
           "value in what the run printed.", "",
           "| Claim | Seed | Command | Exit code | Wall time | Log | Re-run |",
           "|---|---|---|---:|---:|---|---|"]
    for row in rows:
        r, proof = row.result or {}, row.proof
        run = (proof.run if proof else None) or {}
        seed = "—" if r.get("seed") is None else json.dumps(r["seed"])
        code = "—" if run.get("exit_code") is None else str(run["exit_code"])
        wall = "—" if run.get("wall_s") is None else f"{run['wall_s']:.1f} s"
        log = f"`{_cell(proof.log)}`" if proof and proof.log else "—"
        if proof is None:
            verdict = "no value"
        else:
            verdict = ("verified: " if proof.verified else "**not verified**: ") + proof.why
        command = f"`{_cell(r['command'])}`" if r.get("command") else "—"
        out.append(f"| {_cell(row.id)} | {seed} | {command} | {code} | {wall} | {log} | {_cell(verdict)} |")
    return out + [""]


def _claims_section(rows: list[Row]) -> list[str]:
    out = ["## Claims", ""]
    for row in rows:
        c, r = row.claim, row.result or {}
        setup = c.get("setup") or {}
        out.append(f"- **{_cell(row.id)}** ({_cell(c['metric'])}): {_cell(c['description'])} "
                   f"— dataset: {_cell(setup.get('dataset', '?'))}; "
                   f"method: {_cell(setup.get('method', '?'))}")
        if row.per_seed:
            out.append(f"  Per seed: {', '.join(num(v) for v in row.per_seed)}.")
        if r.get("notes"):
            out.append(f"  Notes: {_cell(r['notes'])}")
        # Last: a line after a quote would be read as part of it.
        if c["source"].get("quote"):
            out.append(f"  > {_cell(c['source']['quote'])}")
    return out + [""]


def environment_section(env: dict[str, Any] | None) -> list[str]:
    out = ["## Environment", ""]
    if env is None:
        return out + [f"_No {ENVIRONMENT}: agentcli has not re-run the commands here "
                      "(`agentcli reproduce report --verify`)._", ""]
    py = env.get("python") or {}
    packages = py.get("packages") or {}
    if py.get("error"):
        out.append(f"- Python: {_cell(py['error'])}")
    else:
        out.append(f"- Python {_cell(py.get('version', '?'))} ({_cell(py.get('implementation', '?'))}), "
                   f"{len(packages)} packages installed (all listed in {ENVIRONMENT})")
        used = [f"{name} {packages.get(name, '?')}" for name in py.get("imported") or []]
        used_text = ", ".join(used) or "none outside the standard library"
        out.append(f"- Packages the code imports: {_cell(used_text)}")
    cpu = env.get("cpu") or {}
    gpus = ", ".join(f"{g.get('name')} ({g.get('memory')})" for g in env.get("gpus") or []) or "none found"
    out.append(f"- OS: {_cell(env.get('os', '?'))}; CPU: {_cell(cpu.get('model', '?'))} "
               f"({cpu.get('cores', '?')} cores); GPU: {_cell(gpus)}")
    seeds = {cid: s for cid, s in (env.get("seeds") or {}).items() if s is not None}
    out.append("- Seeds: " + ("; ".join(f"{_cell(cid)}: {json.dumps(s)}" for cid, s in seeds.items())
                              or "none (every measured value is from a deterministic run)"))
    runs = [r for r in env.get("runs") or [] if isinstance(r, dict)]
    total = sum(float(r.get("wall_s") or 0) for r in runs)
    out.append(f"- agentcli's re-runs: {len(runs)} command(s), {total:.1f} s in all "
               f"(at most {num(env.get('timeout_s'))} s each)")
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
