"""The provider SDKs imported lazily (agentcli.models.sdk_import): every public name is still
there and is the same object as in a plain import, a call loads a fraction of the SDK, and a
broken cache of export lists costs nothing but a re-parse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentcli.testing.scripted_server import ScriptedServer, Turn

SDKS = ["anthropic", "openai"]


def _python(code: str, cache: Path, **env: str) -> dict:
    """Run `code` in a fresh interpreter (imports are per process); it prints one JSON object."""
    full = {**os.environ, "AGENTCLI_CACHE_DIR": str(cache), **env}
    proc = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("sdk", SDKS)
def test_every_public_name_is_the_one_a_plain_import_gives(sdk, tmp_path):
    plain = _python(f"import json, {sdk} as m; print(json.dumps(sorted(m.__all__)))", tmp_path)
    lazy = _python(f"""
import json, importlib
from agentcli.models.sdk_import import load
m = load({sdk!r})
names = {plain!r}
owners = {{n: getattr(getattr(m, n), "__module__", None) for n in names}}
base = importlib.import_module({sdk!r} + "._exceptions")
print(json.dumps({{"missing": [n for n in names if not hasattr(m, n)],
                  "same_error": m.APIStatusError is base.APIStatusError,
                  "all": sorted(m.__all__)}}))""", tmp_path)
    assert lazy["missing"] == [] and lazy["same_error"]
    assert lazy["all"] == plain


@pytest.mark.parametrize("sdk", SDKS)
def test_a_streamed_call_loads_a_fraction_of_the_sdk(sdk, tmp_path):
    call = {"anthropic": "m.Anthropic(api_key='k', base_url=url).messages.create(model='x', "
                         "max_tokens=9, messages=[{'role': 'user', 'content': 'hi'}], stream=True)",
            "openai": "m.OpenAI(api_key='k', base_url=url + '/v1').chat.completions.create("
                      "model='x', messages=[{'role': 'user', 'content': 'hi'}], stream=True)"}[sdk]
    counts = {}
    with ScriptedServer([Turn(text="pong")]) as srv:
        for how in ("import importlib; m = importlib.import_module(sdk)",
                    "from agentcli.models.sdk_import import load; m = load(sdk)"):
            counts[how.split(";")[0]] = _python(f"""
import json, sys
sdk, url = {sdk!r}, {srv.base_url!r}
{how}
events = [e for e in {call}]
print(json.dumps({{"modules": sum(1 for n in sys.modules if n.split(".")[0] == sdk),
                  "events": len(events)}}))""", tmp_path)
    plain, lazy = counts.values()
    assert plain["events"] == lazy["events"] > 0
    assert lazy["modules"] < plain["modules"] * 0.6, counts


def test_a_corrupt_cache_of_export_lists_is_parsed_again_and_rewritten(tmp_path):
    cache = tmp_path / "cache"
    kept = cache / "sdk" / "anthropic-exports.json"
    kept.parent.mkdir(parents=True)
    kept.write_text("{not json")
    code = ("import json; from agentcli.models.sdk_import import load; m = load('anthropic'); "
            "print(json.dumps({'client': m.Anthropic.__name__}))")
    assert _python(code, cache) == {"client": "Anthropic"}
    entries = json.loads(kept.read_text())
    assert any(path.endswith(os.path.join("anthropic", "types", "__init__.py")) for path in entries)
    assert _python(code, cache) == {"client": "Anthropic"}  # and read back on the next run
