"""Tool calls written in text: the forms small models really write, and the broken ones.

`data/textcalls_captured.json` holds replies captured from the bundled Qwen2.5-Coder 0.5B and
1.5B while building the local harness (well-formed, fenced, bare, cut off, made-up tools).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentcli.models.textcalls import extract, parse_loose, stop_after_call

TOOLS = {"shell", "grep", "glob", "read", "edit", "write"}
CAPTURED = json.loads((Path(__file__).parent / "data" / "textcalls_captured.json").read_text())


@pytest.mark.parametrize("case", CAPTURED, ids=[f"{c['model'][-4:]}: {c['form']}" for c in CAPTURED])
def test_captured_replies_parse_to_the_calls_they_meant(case):
    found = extract(case["text"], TOOLS)
    assert [[c.name, c.arguments] for c in found.calls] == case["calls"]
    assert bool(found.errors) == case.get("error", False)
    assert all(c.parse_error is None for c in found.calls)
    if not case["calls"] and not case.get("error"):
        assert found.text == case["text"].strip()  # an answer stays an answer


def test_the_call_is_taken_out_of_the_text_and_the_prose_kept():
    text = 'Let me look.\n<tool_call>\n{"name": "read", "arguments": {"path": "a.py"}}\n</tool_call>'
    found = extract(text, TOOLS)
    assert found.text == "Let me look."
    assert found.calls[0].name == "read" and found.calls[0].arguments == {"path": "a.py"}
    assert json.loads(found.calls[0].raw_arguments) == {"path": "a.py"}


@pytest.mark.parametrize("body", [
    '{"name": "read", "arguments": {"path": "a.py",},}',  # trailing commas
    "{'name': 'read', 'arguments': {'path': 'a.py'}}",  # single quotes
    '{"name": "read", "arguments": "{\\"path\\": \\"a.py\\"}"}',  # arguments as a JSON string
    '{"type": "function", "function": {"name": "read", "arguments": {"path": "a.py"}}}',  # OpenAI
    '{"tool": "read", "parameters": {"path": "a.py"}}',  # other key names
    '{"name": "read", "arguments": {"path": "a.py"',  # cut off before the closers
])
def test_near_json_is_repaired(body):
    found = extract(f"<tool_call>\n{body}\n</tool_call>", TOOLS)
    assert [(c.name, c.arguments) for c in found.calls] == [("read", {"path": "a.py"})]


def test_code_with_newlines_and_python_words_survives_repair():
    body = ('{"name": "write", "arguments": {"path": "f.py", "content": "def f():\n    return None\n",'
            ' "overwrite": True}}')  # a raw newline in a string, and a Python literal outside one
    call = extract(body, TOOLS).calls[0]
    assert call.arguments == {"path": "f.py", "content": "def f():\n    return None\n",
                              "overwrite": True}


def test_a_tag_that_cannot_be_read_reports_exactly_what_is_wrong():
    found = extract('<tool_call>\n{"name": "read", "arguments": {"path": "a.py" "limit": 3}}\n'
                    '</tool_call>', TOOLS)
    assert not found.calls
    assert len(found.errors) == 1
    assert "could not read the tool call" in found.errors[0] and "invalid JSON" in found.errors[0]
    assert "line 1 column" in found.errors[0]  # where it broke


def test_json_in_an_answer_is_not_a_call():
    text = 'The config is {"name": "inventory", "debug": true}; set debug to false.'
    found = extract(text, TOOLS)
    assert not found.calls and not found.errors and found.text == text


def test_unknown_name_in_call_shape_is_a_call_for_the_tool_box_to_reject():
    found = extract('{"name": "search_web", "arguments": {"q": "x"}}', TOOLS)
    assert [c.name for c in found.calls] == ["search_web"]


def test_arguments_that_are_not_an_object_are_a_parse_error_on_the_call():
    call = extract('<tool_call>{"name": "read", "arguments": "a.py"}</tool_call>', TOOLS).calls[0]
    assert call.arguments is None and "not a JSON object" in call.parse_error


@pytest.mark.parametrize("text,stop", [
    ('{"name": "read", "arguments": {"path": "a.py"}}', True),
    ('{"name": "read", "arguments": {"path": "a.py"', False),
    ('<tool_call>\n{"name": "read", "arguments": {}}', True),
    ('Reading it:\n```json\n{"name": "read", "arguments": {"path": "a"}}\n```', True),
    ('Reading it:\n```json\n{"name": "read", "arguments": {"path": "a"}}\n', False),
    ("The answer is {x}", False),
    ("```python\nprint({'a': 1})\n```", False),
])
def test_decoding_stops_right_after_a_complete_call(text, stop):
    assert stop_after_call(text) is stop


def test_parse_loose_says_what_was_wrong():
    value, problem = parse_loose("{'a': }")
    assert value is None and problem.startswith("invalid JSON")
    assert parse_loose("")[1] == "empty"


def test_bare_quotes_inside_a_string_are_escaped_as_a_last_repair():
    """Captured from the 1.5B editing a function with a docstring."""
    raw = ('{"name": "edit", "arguments": {"path": "t.py", "old": "def f():\\n    """Doc."""\\n'
           '    raise NotImplementedError", "new": "def f():\\n    """Doc."""\\n    return 1"}}')
    call = extract(raw, TOOLS).calls[0]
    assert call.arguments == {"path": "t.py",
                              "old": 'def f():\n    """Doc."""\n    raise NotImplementedError',
                              "new": 'def f():\n    """Doc."""\n    return 1'}


def test_a_stray_bracket_after_a_call_is_not_left_over_as_text():
    """Seen with the 0.5B: one closing brace too many, which then stood as its answer."""
    found = extract('{"name": "read", "arguments": {"path": "src/app.py"}}}', TOOLS)
    assert [c.name for c in found.calls] == ["read"] and found.text == ""
    kept = extract('Let me look.\n{"name": "read", "arguments": {"path": "a.py"}}', TOOLS)
    assert kept.text == "Let me look."


@pytest.mark.parametrize("text", [
    '<tools><function name="read" path="a.py"/></tools>',
    '<function name="read">{"path": "a.py"}</function>',
    '<function name="read"><parameter name="path">a.py</parameter></function>',
    '<tool_call>\n<function=read>\n<parameter=path>\na.py\n</parameter>\n</function>\n</tool_call>',
    '<invoke name="read"><parameter name="path">a.py</parameter></invoke>',
    '{{"name": "read", "arguments": {{"path": "a.py"}}}}',
    '{{"name": "read", "arguments": {"path": "a.py"}}}',
])
def test_markup_and_doubled_braces_are_read_as_calls(text):
    found = extract(text, TOOLS)
    assert [(c.name, c.arguments) for c in found.calls] == [("read", {"path": "a.py"})]
    assert found.text == "" and not found.errors


@pytest.mark.parametrize("text", [
    '<tools><function name="edit" path="a.py" old="x',
    '<tool_call>{"name": "read", "arguments": {"path": "a.py" "limit": 3}}</tool_call>',
    '{{"name": "grep", "arguments": {{"pattern":',
    "[TOOL_CALLS] read a.py",
])
def test_a_reply_that_is_only_an_unreadable_call_is_an_error_with_its_text_kept(text):
    found = extract(text, TOOLS)
    assert not found.calls and len(found.errors) == 1 and found.unread == [text]
    assert found.errors[0].startswith("could not read the tool call")


def test_a_lead_in_line_stays_text_and_words_with_quoted_json_stay_an_answer():
    found = extract("Let me look.\n<tools><function name=", TOOLS)
    assert found.text == "Let me look." and found.unread == ["<tools><function name="]
    answer = 'It is set in the config:\n{"name": "inventory", "debug": true}'
    assert extract(answer, TOOLS).text == answer and not extract(answer, TOOLS).errors


def test_markup_inside_a_json_calls_content_stays_content():
    text = ('<tool_call>{"name": "write", "arguments": {"path": "a.xml", '
            '"content": "<function name=\'f\'/>"}}</tool_call>')
    found = extract(text, TOOLS)
    assert [(c.name, c.arguments) for c in found.calls] == [
        ("write", {"path": "a.xml", "content": "<function name='f'/>"})]


def test_a_call_cut_off_before_its_closing_braces_is_mended_not_taken_as_the_answer():
    # The 0.5B's reply in a resumed session: the outer object never closed.
    cut = '{"name": "grep", "arguments": {"pattern": ".*TIMEOUT_SECONDS", "glob": "src/**/*.py"}'
    found = extract(cut, TOOLS)
    assert found.text == "" and [c.name for c in found.calls] == ["grep"]
    assert found.calls[0].arguments == {"pattern": ".*TIMEOUT_SECONDS", "glob": "src/**/*.py"}
    assert extract('{"answer": 37}', TOOLS).text == '{"answer": 37}'  # JSON that is no call stays
