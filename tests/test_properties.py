"""Property-based tests: tool-call parsing, argument checking, dispatch and the workspace path rule
hold for any input a model can send, not only the ones we thought of."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agentcli.models.textcalls import extract, parse_loose
from agentcli.tools import CORE_TOOLS, ToolBox, ToolContext, ToolError, Workspace, load_spec
from agentcli.tools.schema import SchemaError, validate
from agentcli.types import ToolCall, ToolResult

TOOLS = set(CORE_TOOLS)
SPECS = {name: load_spec(name) for name in CORE_TOOLS}
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any text a model could send, lone surrogates included (JSON can carry "\ud800").
ANY_TEXT = st.text(alphabet=st.characters(categories=["L", "M", "N", "P", "S", "Z", "Cc", "Cf", "Cs"]),
                   max_size=300)
SURROGATE = st.sampled_from(["\ud800", "\udfff", "\udc80"])
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT
JSON = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(ANY_TEXT, inner, max_size=4), max_leaves=12)
ARGS = st.dictionaries(st.text(min_size=1, max_size=12), JSON, max_size=5)
# Text around a call that cannot itself open or close one.
PROSE = st.text(max_size=120).filter(lambda s: "<tool_call" not in s and "</tool_call" not in s
                                     and "```" not in s and "{" not in s and "}" not in s)


# -- tool calls written in text --------------------------------------------------------------------

@given(ANY_TEXT, st.sets(st.sampled_from(sorted(TOOLS))))
@FAST
def test_extract_never_raises_and_every_call_is_well_formed(text, names):
    found = extract(text, names)
    for call in found.calls:
        assert isinstance(call.name, str) and call.id
        assert isinstance(call.arguments, dict) or (call.arguments is None and call.parse_error)
    assert all(isinstance(e, str) and e for e in found.errors)


@given(ANY_TEXT)
@FAST
def test_parse_loose_returns_a_value_or_says_what_was_wrong(text):
    value, problem = parse_loose(text)
    assert (value is None) or (problem is None)
    if problem is None:
        json.dumps(value)  # whatever it returns is plain JSON


@given(PROSE, st.sampled_from(sorted(TOOLS)), ARGS, PROSE, st.sampled_from(["tag", "fence", "bare"]))
@FAST
def test_a_call_written_in_any_style_is_found_exactly(before, name, args, after, style):
    body = json.dumps({"name": name, "arguments": args}, ensure_ascii=False)
    wrapped = {"tag": f"<tool_call>\n{body}\n</tool_call>", "fence": f"```json\n{body}\n```",
               "bare": body}[style]
    found = extract(f"{before}\n{wrapped}\n{after}", TOOLS)
    assert [(c.name, c.arguments) for c in found.calls] == [(name, args)]
    assert found.errors == []
    prose = f"{before}\n\n{after}".strip()
    # Nothing but brackets and fences beside a call is what a broken call left behind: dropped.
    assert found.text == ("" if re.fullmatch(r"[\s\[\]{}()`,;:]*", prose) else prose)


@given(PROSE, st.text(min_size=1, max_size=20).filter(lambda n: n not in TOOLS and "<tool_call" not in n),
       ARGS)
@FAST
def test_json_in_prose_that_is_no_call_is_left_as_text(before, name, args):
    text = f"{before} " + json.dumps({"name": name, "value": args})
    found = extract(text, TOOLS)
    assert found.calls == [] and found.text == text.strip()


@given(st.sampled_from(sorted(TOOLS)), ARGS, st.data())
@FAST
def test_a_call_cut_off_anywhere_is_read_or_reported(name, args, data):
    body = json.dumps({"name": name, "arguments": args})
    cut = data.draw(st.integers(min_value=0, max_value=len(body)))
    found = extract(f"<tool_call>{body[:cut]}", TOOLS)
    assert len(found.calls) + len(found.errors) == 1
    for call in found.calls:
        if call.arguments is not None and call.name:
            # Repaired, it may lack its last arguments, but no value it has was cut short.
            assert call.name == name and _no_value_cut(call.arguments, args)


def _no_value_cut(got, whole) -> bool:
    """`got` is `whole` with trailing members missing, every string and number intact."""
    if isinstance(got, dict) and isinstance(whole, dict):
        return all(k in whole and _no_value_cut(v, whole[k]) for k, v in got.items())
    if isinstance(got, list) and isinstance(whole, list):
        return len(got) <= len(whole) and all(_no_value_cut(g, w) for g, w in zip(got, whole))
    return got == whole


# -- argument checking ----------------------------------------------------------------------------

@given(st.sampled_from(sorted(TOOLS)), JSON)
@FAST
def test_validate_accepts_or_refuses_with_a_reason_never_crashes(name, args):
    try:
        out = validate(args, SPECS[name].parameters)
    except SchemaError as exc:
        assert str(exc)
        return
    props = SPECS[name].parameters["properties"]
    assert set(out) <= set(props) and all(k in out for k in SPECS[name].parameters["required"])


def _valid_args(spec) -> st.SearchStrategy[dict]:
    """Arguments that fit a spec: each required property, some optional ones, right types."""
    kinds = {"string": st.text(max_size=40), "integer": st.integers(-10**6, 10**6),
             "boolean": st.booleans(), "number": st.floats(allow_nan=False, allow_infinity=False)}
    props = spec.parameters["properties"]
    required = {k: kinds[props[k]["type"]] for k in spec.parameters["required"]}
    optional = {k: kinds[v["type"]] for k, v in props.items()
                if k not in required and v.get("type") in kinds and "enum" not in v}
    return st.fixed_dictionaries(required, optional=optional)


@given(st.data())
@FAST
def test_valid_arguments_pass_unchanged(data):
    spec = SPECS[data.draw(st.sampled_from(sorted(TOOLS)))]
    args = data.draw(_valid_args(spec))
    assert validate(args, spec.parameters) == args


@given(st.sampled_from(sorted(TOOLS)), st.data())
@FAST
def test_a_wrongly_typed_required_argument_is_named(name, data):
    spec = SPECS[name]
    args = data.draw(_valid_args(spec))
    key = data.draw(st.sampled_from(spec.parameters["required"]))
    args[key] = data.draw(st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(), st.none()))
    with pytest.raises(SchemaError, match=f"'{key}'"):
        validate(args, spec.parameters)


# -- dispatch: nothing runs that should not ----------------------------------------------------------

def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@given(st.sampled_from(sorted(TOOLS) + ["", "no_such_tool", "shell "]), JSON | st.none(), ANY_TEXT)
@FAST
def test_dispatch_turns_any_call_into_a_result_and_declined_actions_never_run(name, args, raw):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        root.mkdir()
        (root / "a.txt").write_text("alpha\nbeta\n")
        before = _snapshot(root)
        asked: list[str] = []

        def decline(kind: str, detail: str) -> bool:
            asked.append(kind)
            return False

        box = ToolBox(CORE_TOOLS, ToolContext(Workspace(root), approve=decline))
        arguments = args if isinstance(args, dict) else None
        result = box.dispatch(ToolCall("c1", name, arguments, raw, None if arguments is not None
                                       else "not an object"))
        assert isinstance(result, ToolResult) and isinstance(result.content, str)
        if name in ("shell", "write", "edit"):
            assert result.is_error  # declined, refused or invalid: never done
        assert _snapshot(root) == before


# -- the workspace path rule ----------------------------------------------------------------------

class Tree:
    """project/ with a folder, a file, a link out of the workspace and a link within it, next to
    an outside/ folder. `model` resolves paths independently, by walking the links by hand."""

    def __init__(self, base: Path):
        self.root = Path(os.path.realpath(base)) / "project"
        self.outside = self.root.parent / "outside"
        (self.root / "a").mkdir(parents=True)
        self.outside.mkdir()
        (self.root / "f.txt").write_text("x")
        (self.root / "link_out").symlink_to(self.outside)
        (self.root / "link_in").symlink_to(self.root / "a")
        (self.root / "a" / "up").symlink_to("..")
        self.links = {self.root / "link_out": self.outside, self.root / "link_in": self.root / "a",
                      self.root / "a" / "up": self.root}

    def model(self, path: str) -> Path:
        parts = list(Path("/").parts) if path.startswith("/") else list(self.root.parts)
        for seg in path.split("/"):
            if seg in ("", "."):
                continue
            if seg == "..":
                if len(parts) > 1:
                    parts.pop()
                continue
            here = Path(*parts, seg)
            parts = list(self.links.get(here, here).parts)
        return Path(*parts)

    def inside(self, real: Path) -> bool:
        return real == self.root or self.root in real.parents


SEGMENTS = st.sampled_from(["..", ".", "", "a", "f.txt", "link_out", "link_in", "up", "project",
                            "outside", "new.txt"])


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return Tree(tmp_path_factory.mktemp("paths"))


@given(st.lists(SEGMENTS, min_size=1, max_size=8), st.sampled_from(["", "root", "parent", "/etc"]))
@FAST
def test_a_path_is_allowed_exactly_when_it_really_lands_inside(tree, segments, prefix):
    start = {"": "", "root": str(tree.root), "parent": str(tree.root.parent), "/etc": "/etc"}[prefix]
    path = "/".join([start, *segments]) if start else "/".join(segments)
    assume(path.strip())
    expected = tree.model(path)
    ws = Workspace(tree.root)
    if tree.inside(expected):
        assert ws.resolve(path) == expected
    else:
        with pytest.raises(ToolError, match="outside the workspace"):
            ws.resolve(path)


@given(ANY_TEXT | st.tuples(ANY_TEXT, SURROGATE, ANY_TEXT).map("".join), st.booleans())
@FAST
def test_any_text_as_a_path_resolves_inside_or_is_refused(tree, path, write):
    ws = Workspace(tree.root, protected=[tree.root / "a"])
    try:
        real = ws.resolve(path, write=write)
    except ToolError as exc:
        assert str(exc)
        return
    assert tree.inside(real) and Path(os.path.realpath(real)) == real
    assert not (write and (real == tree.root / "a" or tree.root / "a" in real.parents))


@given(ANY_TEXT, ANY_TEXT)
@FAST
def test_a_nul_byte_anywhere_is_refused(tree, left, right):
    with pytest.raises(ToolError, match="NUL"):
        Workspace(tree.root).resolve(f"{left}\x00{right}")
