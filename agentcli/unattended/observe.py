"""What the harness sees in a tool call and its result: commands and exit codes, test results,
files changed. These lines go into the ledger beside the model's own account, so the record of
what happened comes from the archive, not from what the model says happened."""

from __future__ import annotations

import re
from typing import Any

from agentcli.callsig import short

# Commands that run tests, by their first words (after `cd x &&`, env vars, `python -m`, `uv run`).
_TEST_COMMAND = re.compile(
    r"(^|[\s;&|(])(pytest|py\.test|tox|nox|unittest|nosetests|jest|vitest|mocha|ava|rspec|phpunit|"
    r"ctest|(npm|pnpm|yarn|bun)\s+(run\s+)?test|cargo\s+(nextest|test)|go\s+test|make\s+(check|test)|"
    r"gradle\w*\s+test|mvn\w*\s+test|dotnet\s+test|mix\s+test|swift\s+test|zig\s+build\s+test)\b")

# Summary lines of common test runners, most specific first. Each yields a short text.
_PYTEST = re.compile(r"=+ (.*?(?:passed|failed|error|errors|skipped|no tests ran|xfailed|xpassed|"
                     r"deselected|warnings?)\b.*?) in [\d.]+s", re.IGNORECASE)
_PYTEST_QUIET = re.compile(r"^(\d+ (?:passed|failed|errors?|skipped)(?:, \d+ \w+)*)(?: in [\d.]+s)?\s*$",
                           re.MULTILINE)
_UNITTEST = re.compile(r"^Ran (\d+) tests? in [\d.]+s\s*\n+\s*(OK|FAILED)(?: \(([^)]*)\))?", re.MULTILINE)
_JEST = re.compile(r"^Tests:\s+(.+?)\s*$", re.MULTILINE)
_CARGO = re.compile(r"test result: (ok|FAILED)\. (\d+) passed; (\d+) failed")
_GO = re.compile(r"^(ok|FAIL|---\s+FAIL)\s", re.MULTILINE)
_MOCHA = re.compile(r"^\s+(\d+) passing.*?(?:\n\s+(\d+) failing)?", re.MULTILINE)


def is_test_command(command: str) -> bool:
    """Whether a shell command runs a test suite."""
    return bool(_TEST_COMMAND.search(command))


def summarize_tests(output: str) -> str | None:
    """"3 failed, 10 passed" from a test runner's output, or None if it shows no summary."""
    found = _PYTEST.findall(output)
    if found:
        return found[-1].strip()
    quiet = _PYTEST_QUIET.findall(output)
    if quiet:
        return quiet[-1].strip()
    m = None
    for m in _UNITTEST.finditer(output):
        pass
    if m:
        detail = f" ({m.group(3)})" if m.group(3) else ""
        return f"ran {m.group(1)}: {m.group(2)}{detail}"
    jest = _JEST.findall(output)
    if jest:
        return jest[-1]
    cargo = _CARGO.findall(output)
    if cargo:
        passed = sum(int(c[1]) for c in cargo)
        failed = sum(int(c[2]) for c in cargo)
        return f"{failed} failed, {passed} passed" if failed else f"{passed} passed"
    mocha = _MOCHA.findall(output)
    if mocha:
        passing, failing = mocha[-1]
        return f"{failing} failing, {passing} passing" if failing else f"{passing} passing"
    go = _GO.findall(output)
    if go:
        failed = sum(1 for g in go if "FAIL" in g)
        ok = len(go) - failed
        return f"go: {ok} packages ok, {failed} failed" if failed else f"go: {ok} packages ok"
    return None


def observe(call: dict[str, Any], result: dict[str, Any]) -> dict[str, Any] | None:
    """An observation {kind, text, ...} from one archived tool call and its result, or None when
    the call is not worth a line (reads, searches, failed edits)."""
    name = call.get("name")
    args = call.get("arguments") or {}
    message = result.get("message") or {}
    meta = result.get("meta") or {}
    content = message.get("content") or ""
    failed = bool(message.get("is_error"))
    if name == "shell" and isinstance(args.get("command"), str):
        command = args["command"]
        if failed and "exit_code" not in meta and "timed_out" not in meta:
            return {"kind": "command", "command": command, "exit_code": None,
                    "text": f"shell `{short(command, 100)}` refused: {short(content, 100)}"}
        code = meta.get("exit_code")
        status = "timed out" if meta.get("timed_out") else f"exit {code}"
        obs: dict[str, Any] = {"kind": "command", "command": command, "exit_code": code,
                               "text": f"shell `{short(command, 100)}` → {status}"}
        if meta.get("git_changed"):  # the report must say so: the user's git would run them
            obs["git_changed"] = list(meta["git_changed"])
            obs["text"] += " · changed git settings: " + ", ".join(meta["git_changed"][:4])
        tests = is_test_command(command) or _looks_like_tests(content)
        summary = summarize_tests(content) if tests else None
        if summary or is_test_command(command):
            obs["kind"] = "tests"
            obs["summary"] = summary or status
            obs["passed"] = code == 0 and not meta.get("timed_out")
            obs["text"] += f" · tests: {summary}" if summary else ""
        return obs
    if name in ("edit", "write") and not failed:
        path = meta.get("path") or args.get("path")
        verb = "edited" if name == "edit" else ("created" if meta.get("created") else "wrote")
        return {"kind": "file", "text": f"{verb} {path}", "path": path}
    return None


def _looks_like_tests(content: str) -> bool:
    return bool(_PYTEST.search(content) or _UNITTEST.search(content) or _CARGO.search(content))
