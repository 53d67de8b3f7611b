"""claims.json and results.json checked against their schemas, the paper and each other.

Schema problems come with their JSON path (`claims[2].tolerance: ...`); beyond the schema, the
checks make claims traceable to the paper: ids are unique, a cited page exists, a quote is
really in PAPER.md (on the page cited), the value is a number the quote prints, and results
cover exactly the claims.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentcli.reproduce import CLAIMS, PAPER_MD, RESULTS
from agentcli.reproduce.numbers import numbers_in, printed_in_quote
from agentcli.reproduce.paper import split_pages
from agentcli.reproduce.schemacheck import Validator, join, json_error, loads_strict

_HERE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def schema(name: str) -> dict[str, Any]:
    """The shipped schema `claims` or `results` (agentcli/reproduce/<name>.schema.json)."""
    return json.loads((_HERE / f"{name}.schema.json").read_text(encoding="utf-8"))


def schema_path(name: str) -> Path:
    return _HERE / f"{name}.schema.json"


@dataclass
class Check:
    """The outcome of checking one file. `ok` means no errors; warnings never block."""

    name: str
    exists: bool = True
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    doc: Any = None

    @property
    def ok(self) -> bool:
        return self.exists and not self.errors

    def message(self) -> str:
        """What a model (or a person) reads: a verdict line, then numbered problems."""
        if not self.exists:
            return f"{self.name} does not exist yet"
        lines = []
        if self.errors:
            lines.append(f"{self.name} is invalid ({len(self.errors)} problem(s)); fix each and check again:")
            lines += [f"{i}. {e}" for i, e in enumerate(self.errors, 1)]
        if self.warnings:
            lines.append("warnings (check them; they do not block):")
            lines += [f"- {w}" for w in self.warnings]
        return "\n".join(lines)


def _read_json(path: Path, check: Check) -> Any:
    if not path.is_file():
        check.exists = False
        check.errors.append(f"{check.name} does not exist")
        return None
    try:
        return loads_strict(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        check.errors.append(f"{check.name} is not UTF-8 text")
    except ValueError as exc:
        check.errors.append(json_error(check.name, exc))
    return None


# -- claims -------------------------------------------------------------------------------------

@dataclass
class ClaimsCheck(Check):
    claims: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [c["id"] for c in self.claims]


def check_claims(workdir: Path, name: str = CLAIMS) -> ClaimsCheck:
    """Validate `workdir/claims.json`; `claims` holds the claims that passed on their own."""
    check = ClaimsCheck(name)
    doc = _read_json(workdir / name, check)
    if doc is None:
        return check
    check.doc = doc
    validator = Validator(schema("claims"))
    check.errors += validator.errors(doc)
    items = doc.get("claims") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        return check
    claim_schema = schema("claims")["$defs"]["claim"]
    paper = _paper_text(workdir)
    seen: dict[str, int] = {}
    for i, claim in enumerate(items):
        where = join("claims", i)
        if validator.errors(claim, where, claim_schema):  # reported by the whole-document pass
            continue
        cid = claim["id"]
        if cid in seen:
            check.errors.append(f"{where}.id: {json.dumps(cid)} is already the id of claims[{seen[cid]}]; "
                                "ids must be unique")
            continue
        seen[cid] = i
        _check_against_paper(claim, where, paper, check)
        check.claims.append(claim)
    return check


def _paper_text(workdir: Path) -> str | None:
    path = workdir / PAPER_MD
    try:
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else None
    except OSError:
        return None


def _check_against_paper(claim: dict[str, Any], where: str, paper: str | None, check: Check) -> None:
    source = claim["source"]
    quote, page = source["quote"], source["page"]
    _check_value_in_quote(claim, where, check)
    if paper is None:
        check.warnings.append(f"{where}.source: PAPER.md is missing, so the quote and page "
                              "could not be checked")
        return
    # A paper without page markers is one page: page 1.
    pages = split_pages(paper) or {1: paper}
    if page not in pages:
        check.errors.append(f"{where}.source.page: page {page} does not exist; PAPER.md has "
                            + (f"pages {min(pages)}-{max(pages)}" if len(pages) > 1 else
                               "no page markers, so the whole paper is page 1"))
        page = None
    needle = normalise(quote)
    if needle not in normalise(paper):
        check.errors.append(f"{where}.source.quote: not found in PAPER.md; copy the words exactly "
                            f"as PAPER.md prints them (spacing may differ): {_short(quote)}")
    elif page is not None:
        found_on = [n for n, text in pages.items() if needle in normalise(text)]
        if found_on and page not in found_on:
            check.errors.append(f"{where}.source.page: the quote is on page "
                                f"{', '.join(map(str, found_on))} of PAPER.md, not on page {page}")


def _check_value_in_quote(claim: dict[str, Any], where: str, check: Check) -> None:
    """The value must be a number the quote prints, read with the quote's own spacing."""
    if printed_in_quote(claim["value"], claim["source"]["quote"]):
        return
    printed = ", ".join(p.text for p in numbers_in(claim["source"]["quote"])) or "none"
    check.errors.append(f"{where}.value: {claim['value']} is not a number its quote prints (numbers "
                        f"there: {printed}); copy the value exactly as the paper prints it, and quote "
                        "the words that print it (where PAPER.md runs numbers together, the quote "
                        "may put the spaces back)")


def normalise(text: str) -> str:
    """For quote matching: compatibility forms, lower case, one kind of dash, no line-break
    hyphenation and no whitespace at all (PDF extraction often loses or adds spaces)."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    text = re.sub(r"-\s*\n\s*", "", text)
    return re.sub(r"\s+", "", text)


def _short(text: str, width: int = 80) -> str:
    text = " ".join(text.split())
    return json.dumps(text if len(text) <= width else text[: width - 1] + "…", ensure_ascii=False)


# -- results ------------------------------------------------------------------------------------

@dataclass
class ResultsCheck(Check):
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def check_results(workdir: Path, claim_ids: list[str] | None, *, require_all: bool = True,
                  name: str = RESULTS) -> ResultsCheck:
    """Validate `workdir/results.json` against the schema and the claim ids. `entries` holds the
    entries that passed on their own; `missing` the claim ids with no entry."""
    check = ResultsCheck(name)
    doc = _read_json(workdir / name, check)
    if doc is None:
        check.missing = list(claim_ids or [])
        return check
    check.doc = doc
    root = schema("results")
    one = Validator(root)
    if not isinstance(doc, dict) or not doc:
        check.errors.append(f"{name} must be a JSON object with one entry per claim id, like "
                            '{"C1": {"value": 0.91, "run_id": "...", "seed": 0, "command": "..."}}')
        check.missing = list(claim_ids or [])
        return check
    known = set(claim_ids) if claim_ids is not None else None
    for cid, entry in doc.items():
        where = join("", cid)
        if known is not None and cid not in known:
            check.errors.append(f"{where}: claims.json has no claim with this id (ids: "
                                f"{', '.join(claim_ids or []) or 'none'})")
            continue
        problems = one.errors(entry, where, root["$defs"]["result"])
        if problems:
            check.errors += problems
            continue
        if entry["value"] is None and not str(entry.get("notes", "")).strip():
            check.errors.append(f"{where}.value: is null; say in notes why it could not be measured")
            continue
        if entry.get("log") and not (workdir / entry["log"]).exists():
            check.errors.append(f"{where}.log: {entry['log']} does not exist in the workdir")
        values, seeds = entry.get("values"), entry.get("seed")
        if isinstance(values, list) and isinstance(seeds, list) and len(values) != len(seeds):
            check.warnings.append(f"{where}: {len(values)} values but {len(seeds)} seeds")
        check.entries[cid] = entry
    check.missing = [c for c in claim_ids or [] if c not in doc]
    if require_all and check.missing:
        check.errors.append(f"no result for claim(s) {', '.join(check.missing)}: add an entry for each "
                            "(value null, with notes saying why, if it could not be measured)")
    return check
