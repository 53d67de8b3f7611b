"""claims.json and results.json: the shipped schemas, and the precise errors a model gets back."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from agentcli.reproduce import checks
from agentcli.reproduce.checks import check_claims, check_results, schema_path
from agentcli.reproduce.schemacheck import Validator
from agentcli.tools import ToolBox, ToolContext, Workspace
from agentcli.types import ToolCall
from reproduce_helpers import GOOD_CLAIMS

PAPER = ("# Paper: tiny.pdf\n\n## Page 1\n\nWe study the five numbers 1, 2, 3, 4 and 10.\n\n"
         "## Page 2\n\nTable 1: mean 4.0, median 3.\nThe standard deviation of the five\n"
         "numbers is 3.54.\n")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "PAPER.md").write_text(PAPER)
    return tmp_path


def write(workdir: Path, doc, name: str = "claims.json") -> None:
    (workdir / name).write_text(doc if isinstance(doc, str) else json.dumps(doc))


def errors_for(workdir: Path, doc) -> list[str]:
    write(workdir, doc)
    return check_claims(workdir).errors


def good() -> dict:
    return copy.deepcopy(GOOD_CLAIMS)


def test_the_schemas_ship_inside_the_package():
    for name in ("claims", "results"):
        path = schema_path(name)
        assert path.is_file() and "agentcli/reproduce" in path.as_posix()
        assert json.loads(path.read_text())["$schema"].startswith("https://json-schema.org/")


def test_good_claims_are_valid(workdir):
    write(workdir, good())
    check = check_claims(workdir)
    assert check.ok and check.errors == [] and check.ids == ["C1", "C2", "C3"]


def test_a_quote_broken_across_lines_and_spaces_still_matches(workdir):
    doc = good()
    doc["claims"][2]["source"]["quote"] = "The standard  deviation of the five numbers is 3.54."
    assert errors_for(workdir, doc) == []


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["claims"][0].pop("tolerance"), 'claims[0]: missing required field(s) "tolerance"'),
    (lambda d: d["claims"][1].update(value="3"), 'claims[1].value: must be a number, got string "3"'),
    (lambda d: d["claims"][0].update(tolerance={}),
     'claims[0].tolerance: needs at least 1 of "absolute", "relative"'),
    (lambda d: d["claims"][0]["tolerance"].update(absolute=-1),
     "claims[0].tolerance.absolute: must be >= 0, got -1"),
    (lambda d: d["claims"][2].update(id="3rd"), 'claims[2].id: "3rd" does not match an id like "C1"'),
    (lambda d: d["claims"][2].update(id="C1"),
     'claims[2].id: "C1" is already the id of claims[0]; ids must be unique'),
    (lambda d: d["claims"][0].update(confidence=0.9), "claims[0].confidence: unknown field"),
    (lambda d: d["claims"][0]["setup"].pop("method"), 'claims[0].setup: missing required field(s) "method"'),
    (lambda d: d.update(claims=[]), "claims: needs at least 1 item(s), got 0"),
    (lambda d: d["paper"].update(title=" "), "paper.title: must not be empty"),
    (lambda d: d["claims"][0]["source"].update(quote="mean 4.2"),
     'claims[0].source.quote: not found in PAPER.md; copy the words exactly'),
    (lambda d: d["claims"][2]["source"].update(page=1),
     "claims[2].source.page: the quote is on page 2 of PAPER.md, not on page 1"),
    (lambda d: d["claims"][2]["source"].update(page=9),
     "claims[2].source.page: page 9 does not exist; PAPER.md has pages 1-2"),
])
def test_each_mistake_gets_a_precise_error(workdir, mutate, expected):
    doc = good()
    mutate(doc)
    errors = errors_for(workdir, doc)
    assert any(e.startswith(expected) for e in errors), errors


def test_every_problem_is_reported_at_once_not_just_the_first(workdir):
    doc = good()
    doc["claims"][0]["value"] = None
    doc["claims"][1].pop("metric")
    doc["claims"][2]["tolerance"] = {"relative": "5%"}
    errors = errors_for(workdir, doc)
    assert [e.split(":")[0] for e in errors] == ["claims[0].value", "claims[1]", "claims[2].tolerance.relative"]


@pytest.mark.parametrize("text, expected", [
    ('{"paper": {"title": "x"}, "claims": [', "claims.json is not valid JSON: line 1, column 38: Expecting value"),
    ('{"paper": {"title": "x"}, "claims": [{"value": NaN}]}', "claims.json is not valid JSON: NaN is not valid JSON; write a number or null"),
    ("[1, 2]", "(top level): must be an object, got array"),
])
def test_unparseable_files_say_where(workdir, text, expected):
    write(workdir, text)
    assert check_claims(workdir).errors[0].startswith(expected)


def test_a_missing_file_is_not_a_crash(tmp_path):
    check = check_claims(tmp_path)
    assert not check.exists and not check.ok and check.message() == "claims.json does not exist yet"


def test_a_value_its_quote_does_not_print_is_an_error(workdir):
    (workdir / "PAPER.md").write_text("## Page 1\n\nTable 3: Ridge 0.482 2,970.5 10\n")
    doc = good()
    doc["claims"] = [dict(doc["claims"][0], value=0.492, source={
        "location": "Table 3, row Ridge", "page": 1, "quote": "Ridge 0.482 2,970.5 10"})]
    write(workdir, doc)
    check = check_claims(workdir)
    assert not check.ok
    assert check.errors == ["claims[0].value: 0.492 is not a number its quote prints (numbers there: "
                            "0.482, 2,970.5, 10); copy the value exactly as the paper prints it, and "
                            "quote the words that print it (where PAPER.md runs numbers together, the "
                            "quote may put the spaces back)"]


@pytest.mark.parametrize("value", [0.482, 2970.5, 10])
def test_each_number_of_a_table_row_is_read_with_its_spacing(workdir, value):
    """Whitespace kept: "0.482 2,970.5 10" is three numbers, not "0.4822970.510"."""
    (workdir / "PAPER.md").write_text("## Page 1\n\nTable 3: Ridge 0.482 2,970.5 10\n")
    doc = good()
    doc["claims"] = [dict(doc["claims"][0], value=value, source={
        "location": "Table 3, row Ridge", "page": 1, "quote": "Ridge 0.482 2,970.5 10"})]
    write(workdir, doc)
    check = check_claims(workdir)
    assert check.ok and check.errors == [] and check.warnings == []


@pytest.mark.parametrize("printed, value", [
    ("the change was \u22120.25 on average", -0.25),      # unicode minus
    ("the change was \u20130.25 on average", -0.25),      # an en dash standing for one
    ("n = 12\u2009345 images", 12345),                    # a thin space between thousands
    ("n = 1,234,567 tokens", 1234567),
    ("R2 = .518 in 12 steps", 0.518),
])
def test_minus_signs_and_thousands_separators_are_read_as_printed(workdir, printed, value):
    (workdir / "PAPER.md").write_text(f"## Page 1\n\n{printed}\n")
    doc = good()
    doc["claims"] = [dict(doc["claims"][0], value=value, source={"location": "text", "page": 1,
                                                                  "quote": printed})]
    write(workdir, doc)
    assert check_claims(workdir).errors == []


def test_quote_and_page_are_required(workdir):
    doc = good()
    del doc["claims"][0]["source"]["quote"]
    del doc["claims"][1]["source"]["page"]
    errors = errors_for(workdir, doc)
    assert 'claims[0].source: missing required field(s) "quote"' in errors
    assert 'claims[1].source: missing required field(s) "page"' in errors


def test_a_paper_without_page_markers_is_page_1(workdir):
    (workdir / "PAPER.md").write_text("# Paper\n\nTable 1: mean 4.0, median 3.\n")
    doc = good()
    doc["claims"] = doc["claims"][:2]
    for c in doc["claims"]:
        c["source"]["page"] = 1
    assert errors_for(workdir, doc) == []
    doc["claims"][0]["source"]["page"] = 2
    assert errors_for(workdir, doc) == ["claims[0].source.page: page 2 does not exist; PAPER.md has no "
                                        "page markers, so the whole paper is page 1"]


# -- results ----------------------------------------------------------------------------------

def result(value=4.0, **kw) -> dict:
    return {"value": value, "run_id": "r1", "seed": None, "command": "python run.py", **kw}


def test_a_log_that_does_not_exist_is_an_error(workdir):
    write(workdir, {"C1": result(log="runs/never-ran.log")}, "results.json")
    check = check_results(workdir, ["C1"])
    assert check.errors == ["C1.log: runs/never-ran.log does not exist in the workdir"]


def test_good_results_are_valid(workdir):
    write(workdir, {"C1": result(), "C2": result(3, seed=[1, 2], values=[3, 3]),
                    "C3": result(None, notes="needs a GPU")}, "results.json")
    check = check_results(workdir, ["C1", "C2", "C3"])
    assert check.ok and set(check.entries) == {"C1", "C2", "C3"} and check.missing == []


def test_results_errors_name_the_claim(workdir):
    write(workdir, {"C1": result(seed="zero"), "C2": result(None), "C9": result()}, "results.json")
    errors = check_results(workdir, ["C1", "C2", "C3"]).errors
    assert 'C1.seed: must be an integer, an array or null, got string "zero"' in errors
    assert "C2.value: is null; say in notes why it could not be measured" in errors
    assert "C9: claims.json has no claim with this id (ids: C1, C2, C3)" in errors
    assert any(e.startswith("no result for claim(s) C3") for e in errors)


def test_results_must_be_an_object_of_entries(workdir):
    write(workdir, "[]", "results.json")
    assert check_results(workdir, ["C1"]).errors[0].startswith("results.json must be a JSON object")


def test_validator_reports_anyof_by_the_closest_option():
    schema = {"anyOf": [{"type": "object", "required": ["a"]}, {"type": "integer"}]}
    assert Validator(schema).errors({"b": 1}) == ['(top level): missing required field(s) "a"']


# -- the tool the agent calls -----------------------------------------------------------------

def _tool(workdir: Path, name: str, **args):
    from agentcli.reproduce.tools import TOOLS

    box = ToolBox([], ToolContext(Workspace(workdir))).adding(TOOLS)
    return box.dispatch(ToolCall(id="t1", name=name, arguments=args))


def test_check_claims_tool_returns_errors_as_an_error_result(workdir):
    doc = good()
    doc["claims"][1]["value"] = "3"
    write(workdir, doc)
    res = _tool(workdir, "check_claims")
    assert res.is_error
    assert res.content.splitlines()[0] == "claims.json is invalid (1 problem(s)); fix each and check again:"
    assert '1. claims[1].value: must be a number, got string "3"' in res.content
    write(workdir, good())
    ok = _tool(workdir, "check_claims")
    assert not ok.is_error and ok.content == "claims.json is valid: 3 claim(s): C1, C2, C3"


def test_check_claims_tool_refuses_paths_outside_the_workdir(workdir):
    res = _tool(workdir, "check_claims", path="../elsewhere.json")
    assert res.is_error and "outside the workspace" in res.content


def test_check_results_tool_previews_the_comparison(workdir):
    write(workdir, good())
    write(workdir, {"C1": result(4.0), "C2": result(3), "C3": result(3.16)}, "results.json")
    res = _tool(workdir, "check_results")
    assert not res.is_error
    assert "- C1: paper 4, reproduced 4: match" in res.content
    assert "- C3: paper 3.54, reproduced 3.16: MISMATCH" in res.content
    assert "not yet verified (agentcli re-runs every command when you call finish" in res.content
    assert "not a reason to change the method" in res.content


def test_check_results_tool_needs_valid_claims_first(workdir):
    write(workdir, "{}")
    res = _tool(workdir, "check_results")
    assert res.is_error and res.content.startswith("claims.json must be valid before results")


def test_schema_cache_returns_the_shipped_document():
    assert checks.schema("claims")["$defs"]["claim"]["required"][0] == "id"
