"""The code first: before a small model's own first turn on a task, the harness reads it the
files the task needs, so it starts from the code instead of navigating towards it.

A 1.5B model asked to find its way with tools spends its turns (each a prompt re-read on a CPU)
guessing paths and copying text from the wrong file; shown the code at once, it answers with the
change (aider's way, which is why aider beats tool-driven harnesses on small models). Which
files, up to MAX_FILES, read up to TOTAL_LINES lines in all:
1. the files the task names (a path, or the name of a file in the project outline);
2. all of the project's source files, when the whole project is small (SMALL_PROJECT files) and
   the request asks about it or for a change (a greeting reads nothing; data and docs are read
   only when named);
3. otherwise, when the task names identifiers (`code`, snake_case, CamelCase) and no file: a grep
   for them, then the files it found (most hits first; for a question, the files defining them);
a replace-everywhere task ("from 1.4.2 to 1.5.0", "rename `a` to `b`") greps for the old text
first, and reads every file it is in, data and docs included; a question about who calls or
uses a name also asks the code map, which names the function each use is in.
Each step is one reply holding a call per file, made by the harness (ids `call_pack_…`), so the
archive shows exactly what the model was shown and why. Like the rest of the steering it is a
pure function of the messages and the outline in the system prompt.
"""

from __future__ import annotations

import json
import os
import re

from agentcli.local.task import current_task, is_change_request, norm, same_path, task_text
from agentcli.local.verify import replaced_text
from agentcli.types import Message, ToolCall

MAX_FILES = 4
TOTAL_LINES = 480  # over all the files of a step: with the system turn, well inside an 8k window
MIN_LINES = 80
SMALL_PROJECT = 6
PREFIX = "call_pack_"
_HARNESS = ("call_run_first", PREFIX)  # harness calls made before the model's first turn
_SKIP = re.compile(r"(^|/)(\.[^/]+|[^/]+\.(lock|min\.js|map|svg|png|jpe?g|gif|ico|pdf|zip|gz|whl|"
                   r"pyc|so|bin|gguf|sqlite3?|db))$|(^|/)(LICENSE|COPYING)[^/]*$", re.IGNORECASE)
_IDENT = re.compile(r"`([A-Za-z_][\w.]{2,60})`|\b([a-z][a-z0-9]*_[a-z0-9_]+|[A-Z][a-z0-9]+"
                    r"(?:[A-Z][a-z0-9]+)+)\b")
_CODE = re.compile(r"\.(py|pyi|js|jsx|mjs|cjs|ts|tsx|go|rs|java|kt|c|h|cc|cpp|hpp|cs|rb|php|swift|sh|"
                   r"bash|lua|pl|r|scala|sql)$", re.IGNORECASE)
_FILE_NAME = re.compile(r"\.(py|pyi|js|jsx|mjs|ts|tsx|json|md|txt|toml|ya?ml|cfg|ini|go|rs|java|c|h|cc|"
                        r"cpp|rb|php|sh|html|css|csv|lock)$|/", re.IGNORECASE)
_DEFINES = re.compile(r":\d+:\s*(?:export\s+)?(?:async\s+def|def|class|function|func|fn|struct|interface|"
                      r"type|const|let|var)\s+\w|:\d+:\s*[A-Z_][A-Z0-9_]*\s*=")
_GREP_LINE = re.compile(r"^([^:\n]+):\d+:", re.MULTILINE)
# "What does `f(1, x=2)` return", "the value of `f(3)`": a call in backticks asked about.
_CALL_IN_TICKS = re.compile(r"`(([A-Za-z_]\w*)\([^`\n]{0,200}\))`")
_ASKS_VALUE = re.compile(r"\b(?:returns?|gives?|value|result|evaluates?|prints?|output)\b", re.IGNORECASE)
_EVAL = """import ast, importlib, sys
sys.path.insert(0, ".")
def defines(path):
    try:
        tree = ast.parse(open(path, encoding="utf-8").read())
        return any(getattr(d, "name", "") == {name} for d in tree.body)
    except (OSError, SyntaxError, ValueError):
        return False
hit = [f for f in {files} if defines(f)]
if not hit:
    sys.exit("no module here defines " + {name})
module = importlib.import_module(hit[0][:-3].replace("/", "."))
print(repr(eval({expr}, vars(module))))
"""
_ASKS_USERS = re.compile(r"\b(?:call(?:s|ed|ers?|ing)?|uses?|used|usages?|refers?|referenced|invoke[sd]?)\b",
                         re.IGNORECASE)


def first_reads(messages: list[Message], files: list[str]) -> list[ToolCall]:
    """The harness's next packing step for the current task (`files`: the project outline the
    model was shown), or [] once the model's own turns have begun or there is nothing to pack."""
    task = current_task(messages)
    calls = [c for m in task if m.role == "assistant" for c in m.tool_calls]
    if any(not c.id.startswith(_HARNESS) for c in calls) or not files:
        return []
    packed = [c for c in calls if c.id.startswith(PREFIX)]
    if not packed:
        request, n = task_text(messages), len(messages)
        return _evaluated(request, _with_users(request, _first_step(request, files, n), n), files, n)
    greps = [c for c in packed if c.name == "grep"]
    if greps and not any(c.name == "read" for c in packed):
        request = task_text(messages)
        everywhere = replaced_text(request) is not None
        hits = _grep_hits(task, greps[-1].id, files, is_change_request(request), everywhere)
        return _reads(hits, len(messages))
    return []


def _evaluated(request: str, calls: list[ToolCall], files: list[str], n: int) -> list[ToolCall]:
    """For a question about what a call in backticks returns ("what does `cost(6.5, "eu")`
    return?"): the harness runs it, last, in the module that defines the function (found by
    parsing, so only that module is imported). A small model's arithmetic by reading is a guess."""
    m = _CALL_IN_TICKS.search(request) if _ASKS_VALUE.search(request) else None
    modules = [f for f in files if f.endswith(".py") and not _SKIP.search(f)]
    if not calls or not m or not modules or is_change_request(request):
        return calls
    expr, name = m.group(1), m.group(2)
    script = _EVAL.format(name=json.dumps(name), files=json.dumps(modules), expr=json.dumps(expr))
    args = {"command": f"python3 - <<'PY'\n{script}PY"}
    return calls + [ToolCall(f"{PREFIX}{n}_eval", "shell", args, json.dumps(args, ensure_ascii=False))]


def _with_users(request: str, calls: list[ToolCall], n: int) -> list[ToolCall]:
    """For a question about who calls or uses a name: the code map's answer too, last (it names
    the function each use is in, which a small model reading the files gets wrong)."""
    if not calls or is_change_request(request) or not _ASKS_USERS.search(request):
        return calls
    words = _identifiers(request)[:2]
    return calls + [ToolCall(f"{PREFIX}{n}_map{i}", "code_map", {"symbol": w}, json.dumps({"symbol": w}))
                    for i, w in enumerate(words)]


def _first_step(request: str, files: list[str], n: int) -> list[ToolCall]:
    text = [f for f in files if not _SKIP.search(f)]
    named = _named(request, text)
    pair = replaced_text(request) if is_change_request(request) and not named else None
    if pair is not None:  # replace everywhere: every file that holds the old text, data included
        args = {"pattern": re.escape(pair[0])}
        return [ToolCall(f"{PREFIX}{n}_grep", "grep", args, json.dumps(args, ensure_ascii=False))]
    about_code = named or is_change_request(request) or "?" in request  # not "hi"
    code = [f for f in text if _CODE.search(f)]  # data and docs only when the task names them
    small = len(files) <= SMALL_PROJECT and len(code) <= MAX_FILES + len(named) and about_code
    others = [f for f in code if f not in named] if small else []
    chosen = (others + named)[-MAX_FILES:]  # the files the task names come last: nearest the reply
    if chosen:
        return _reads(chosen, n)
    words = _identifiers(request)
    if not words:
        return []
    args = {"pattern": r"\b(" + "|".join(re.escape(w) for w in words) + r")\b"}
    return [ToolCall(f"{PREFIX}{n}_grep", "grep", args, json.dumps(args, ensure_ascii=False))]


def _named(request: str, files: list[str]) -> list[str]:
    """Outline files the request names, by path or by file name, in the order it names them."""
    found: list[tuple[int, str]] = []
    for f in files:
        base = os.path.basename(f)  # a bare word ("server", "test") names a file only as a path
        for needle in dict.fromkeys((f, base) if "." in base else (f,)):
            m = re.search(rf"(?<![\w./-]){re.escape(needle)}(?![\w-])", request)
            if m and (needle == f or sum(os.path.basename(g) == needle for g in files) == 1):
                found.append((m.start(), f))
                break
    return [f for _, f in sorted(found)]


def _identifiers(request: str) -> list[str]:
    """Code names in the request: `quoted`, snake_case or CamelCase (at most four)."""
    names = [a or b for a, b in _IDENT.findall(request) if not _FILE_NAME.search(a or b)]
    return list(dict.fromkeys(n.rsplit(".", 1)[-1] for n in names if not n[0].isdigit()))[:4]


def _grep_hits(task: list[Message], call_id: str, files: list[str], change: bool,
               everywhere: bool = False) -> list[str]:
    """The outline files a grep found, most matching lines first."""
    result = next((m.content for m in task if m.role == "tool" and m.tool_call_id == call_id), "")
    defining = [ln for ln in result.splitlines() if _DEFINES.search(ln)]
    if defining and not change:  # a question: where the names are defined (a change needs the users too)
        result = "\n".join(defining)
    counts: dict[str, int] = {}
    for path in _GREP_LINE.findall(result):
        path = norm(path)
        match = next((f for f in files if same_path(norm(f), path)), None)
        if match is not None and (everywhere or not _SKIP.search(match)):
            counts[match] = counts.get(match, 0) + 1
    ranked = sorted(counts, key=lambda f: -counts[f])[:MAX_FILES]
    return ranked[::-1]  # the best last: nearest the reply


def _reads(paths: list[str], n: int) -> list[ToolCall]:
    calls = []
    limit = max(MIN_LINES, TOTAL_LINES // max(1, len(paths)))
    for i, path in enumerate(paths):
        args = {"path": path, "limit": limit}
        calls.append(ToolCall(f"{PREFIX}{n}_{i}", "read", args, json.dumps(args, ensure_ascii=False)))
    return calls
