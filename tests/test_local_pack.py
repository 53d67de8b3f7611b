"""The code first: which files the harness reads a small model before its first own turn."""

from __future__ import annotations

from conversation import call, turn

from agentcli.local import pack
from agentcli.types import Message

SMALL = ["readings.json", "report.py", "test_report.py"]
BIG = [f"pkg/mod{i}.py" for i in range(20)] + ["pkg/billing.py", "README.md", "uv.lock"]


def ask(text):
    return [Message(role="user", content=text)]


def paths(calls):
    return [c.arguments["path"] for c in calls]


def test_a_small_project_is_read_whole_with_the_named_files_last():
    calls = pack.first_reads(ask("`python3 test_report.py` fails. Fix report.py."), SMALL)
    assert paths(calls) == ["test_report.py", "report.py"]  # data only when the task names it
    assert all(c.name == "read" and c.id.startswith(pack.PREFIX) for c in calls)
    assert all(c.arguments["limit"] * len(calls) <= pack.TOTAL_LINES for c in calls)


def test_in_a_big_project_only_the_files_the_task_names_are_read():
    calls = pack.first_reads(ask("Add a discount argument to pkg/billing.py"), BIG)
    assert paths(calls) == ["pkg/billing.py"]
    # By file name alone too, when no other file has that name.
    assert paths(pack.first_reads(ask("what does billing.py compute?"), BIG)) == ["pkg/billing.py"]


def test_identifiers_without_a_file_are_grepped_then_the_files_found_are_read():
    msgs = ask("Rename the function `get_usr` to `get_user` everywhere.")
    (grep,) = pack.first_reads(msgs, BIG)
    assert grep.name == "grep" and "get_usr" in grep.arguments["pattern"]
    found = "pkg/mod3.py:4: def get_usr():\npkg/mod7.py:9: get_usr()\npkg/mod7.py:12: get_usr()"
    msgs += turn(grep, found)
    assert paths(pack.first_reads(msgs, BIG)) == ["pkg/mod3.py", "pkg/mod7.py"]
    msgs += turn(pack.first_reads(msgs, BIG)[0])
    assert pack.first_reads(msgs, BIG) == []  # packed: the model's turn


def test_packing_follows_the_harness_run_of_the_failing_command_and_stops_once_the_model_acts():
    msgs = ask("`python3 test_report.py` fails. Fix the bug in report.py.")
    msgs += turn(call("shell", {"command": "python3 test_report.py"}, "call_run_first"), "exit code: 1")
    assert paths(pack.first_reads(msgs, SMALL))[-1] == "report.py"
    mine = ask("what is in report.py?") + turn(call("read", {"path": "report.py"}, "c9"))
    assert pack.first_reads(mine, SMALL) == []
    # A task with nothing to go on packs nothing (and a lock file or an image is never read).
    assert pack.first_reads(ask("how many files are there?"), BIG) == []
    assert paths(pack.first_reads(ask("fix the bug"), ["uv.lock", "logo.png", "a.py"])) == ["a.py"]
    assert pack.first_reads(ask("hi"), ["a.py"]) == []


def test_file_names_are_not_identifiers_and_a_bare_word_is_not_a_file():
    # "Fix `utils.py` so `pytest` passes": a file to read, not a grep for "py".
    files = BIG + ["pkg/utils.py", "script/server", "script/test"]
    assert paths(pack.first_reads(ask("Fix `utils.py` so the tests pass"), files)) == ["pkg/utils.py"]
    assert pack.first_reads(ask("Update the server to log requests"), files) == []
    assert paths(pack.first_reads(ask("what does script/server do?"), files)) == ["script/server"]


def test_harness_ids_differ_from_task_to_task():
    """Results are matched to calls by id (resume, compaction, servers): two tasks' reads of the
    same file must not share one."""
    first = ask("Fix the bug in report.py")
    one = pack.first_reads(first, SMALL)
    history = first + [Message(role="assistant", content="", tool_calls=one)] + [
        Message(role="tool", content="x", tool_call_id=c.id, name="read") for c in one] + [
        Message(role="assistant", content="Fixed."), Message(role="user", content="Fix report.py again")]
    two = pack.first_reads(history, SMALL)
    assert two and not {c.id for c in one} & {c.id for c in two}


def test_when_the_grep_finds_a_definition_only_the_defining_files_are_read():
    msgs = ask("Which file defines the class InvoiceRenderer?")
    (grep,) = pack.first_reads(msgs, BIG)
    found = ("pkg/mod1.py:3: from pkg.billing import InvoiceRenderer\npkg/billing.py:1: class InvoiceRenderer:\n"
             "pkg/mod2.py:7: r = InvoiceRenderer()")
    msgs += turn(grep, found)
    assert paths(pack.first_reads(msgs, BIG)) == ["pkg/billing.py"]


def test_a_replace_everywhere_task_greps_the_old_text_and_reads_every_file_it_is_in():
    files = ["pkg/__init__.py", "setup.cfg", "CHANGELOG.md", "README.md"]
    msgs = ask("Bump the project's version from 1.4.2 to 1.5.0 everywhere it is written.")
    (grep,) = pack.first_reads(msgs, files)
    assert grep.name == "grep" and grep.arguments["pattern"] == r"1\.4\.2"
    msgs += turn(grep, "pkg/__init__.py:3: __version__ = \"1.4.2\"\nsetup.cfg:3: version = 1.4.2")
    assert sorted(paths(pack.first_reads(msgs, files))) == ["pkg/__init__.py", "setup.cfg"]


def test_a_question_about_who_calls_a_name_also_asks_the_code_map_last():
    shop = ["shop/__init__.py", "shop/admin.py", "shop/notify.py", "shop/orders.py"]
    calls = pack.first_reads(ask("Which function calls `send_receipt`?"), shop)
    assert [c.name for c in calls] == ["read"] * 4 + ["code_map"]
    assert calls[-1].arguments == {"symbol": "send_receipt"} and calls[-1].id.startswith(pack.PREFIX)
    # In a big project the grep still leads to the files, after the map's answer came back.
    first = pack.first_reads(ask("Where is `get_usr` used?"), BIG)
    assert [c.name for c in first] == ["grep", "code_map"]
    found = "pkg/mod3.py:4: def get_usr():\npkg/mod7.py:9: get_usr()"
    msgs = ask("Where is `get_usr` used?") + turn(first[0], found) + turn(first[1], "get_usr is defined …")
    assert [c.name for c in pack.first_reads(msgs, BIG)] == ["read"]
    # Not for a change, nor a question about something else.
    assert "code_map" not in [c.name for c in pack.first_reads(ask("Make `send_receipt` log its calls."), shop)]
    assert "code_map" not in [c.name for c in pack.first_reads(ask("What does `send_receipt` return?"), shop)]


def test_the_code_map_names_the_function_each_use_is_in(tmp_path):
    from agentcli.library import Library
    from agentcli.library.codemap_tool import describe

    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "notify.py").write_text("def send_receipt(order):\n    return order\n")
    (tmp_path / "shop" / "orders.py").write_text(
        "from shop.notify import send_receipt\n\n\nclass Till:\n    def finish_checkout(self, order):\n"
        "        if order:\n            send_receipt(order)\n\n\nsend_receipt(None)\n")
    cmap = Library(tmp_path / ".lib").code_map(tmp_path)
    cmap.update()
    text = describe(cmap, "send_receipt")
    assert "shop/orders.py: 1,7 (in finish_checkout),10" in text, text


def test_a_question_about_what_a_call_returns_is_answered_by_running_it(tmp_path):
    import subprocess

    (tmp_path / "pricing").mkdir()
    (tmp_path / "pricing" / "__init__.py").write_text("")
    (tmp_path / "pricing" / "ship.py").write_text(
        "RATES = {'eu': 4.0}\n\ndef cost(kg, zone, express=False):\n"
        "    return round(kg * RATES[zone] * (1.5 if express else 1), 2)\n")
    (tmp_path / "broken.py").write_text("def oops(:\n")  # one file that does not parse
    files = ["broken.py", "pricing/__init__.py", "pricing/ship.py"]
    request = 'What does `cost(6.5, "eu", express=True)` return? Work it out from the code.'
    calls = pack.first_reads(ask(request), files)
    assert [c.name for c in calls] == ["read", "read", "read", "shell"] and calls[-1].id.startswith(pack.PREFIX)
    ran = subprocess.run(["bash", "-c", calls[-1].arguments["command"]], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0 and ran.stdout == "39.0\n", ran.stderr
    # Only for a question about a value, not for a change or a call named in passing.
    assert "shell" not in [c.name for c in pack.first_reads(ask("Make `cost(1, 'eu')` round to 1 place."), files)]
    assert "shell" not in [c.name for c in pack.first_reads(ask("Where is `cost(1, 'eu')` used?"), files)]
