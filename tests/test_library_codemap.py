"""The code map: definitions per file from tree-sitter, ranked by use, in the system prompt
within a token budget and behind the `code_map` tool; kept incrementally, .gitignore respected,
redacted."""

from __future__ import annotations

from pathlib import Path

from agentcli.library import Library
from agentcli.library.codemap import CodeMap
from agentcli.testing.scripted_server import Turn

FILES = {
    "shop/pricing.py": "TAX_RATE = 0.2\n\n\nclass PriceBook:\n    def lookup(self, sku):\n"
                       "        return 1\n\n\ndef total_with_tax(amount):\n    return amount * (1 + TAX_RATE)\n",
    "shop/cart.py": "from shop.pricing import PriceBook, total_with_tax\n\n\ndef checkout(items):\n"
                    "    book = PriceBook()\n    return total_with_tax(sum(book.lookup(i) for i in items))\n",
    "shop/report.py": "from shop.pricing import total_with_tax\n\n\ndef monthly(rows):\n"
                      "    return [total_with_tax(r) for r in rows]\n",
    "web/api.ts": "export interface CartLine { sku: string }\n"
                  "export function renderCart(lines: CartLine[]): string { return lines.join(); }\n",
    "web/page.js": "import { renderCart } from './api';\nexport function showPage() { return renderCart([]); }\n",
    "server/main.go": "package main\n\ntype Store struct{}\n\nfunc NewStore() *Store { return &Store{} }\n",
}


def project(workspace: Path) -> Path:
    for rel, text in FILES.items():
        (workspace / rel).parent.mkdir(parents=True, exist_ok=True)
        (workspace / rel).write_text(text)
    return workspace


def ask(server, cli, workspace, calls: list[dict], *args: str, env=None):
    """One run where the model makes `calls` at once and answers with their results."""
    def respond(req):
        if not req.tool_results():
            return Turn(tool_calls=calls)
        return Turn(text="\n=====\n".join(req.tool_results()))

    srv = server(respond)
    result, proc = cli(srv).json("run", "find your way", "-C", str(workspace), "--model", "openai/m",
                                 *args, env=env)
    assert proc.returncode == 0, proc.stderr
    return result["result"].split("\n=====\n"), srv


def test_code_map_says_which_file_defines_a_name_and_who_uses_it(server, cli, workspace):
    project(workspace)
    (workspace / ".gitignore").write_text("build/\n")
    (workspace / "build").mkdir()
    (workspace / "build" / "generated.py").write_text("def total_with_tax(x):\n    return x\n")
    (defines, listing, missing, nowhere), srv = ask(server, cli, workspace, [
        {"name": "code_map", "arguments": {"symbol": "total_with_tax"}},
        {"name": "code_map", "arguments": {"path": "web/"}},
        {"name": "code_map", "arguments": {"symbol": "total"}},
        {"name": "code_map", "arguments": {"path": "no/such/dir"}}])
    assert "total_with_tax is defined in 1 place(s):" in defines
    assert "shop/pricing.py:9 (function) def total_with_tax(amount):" in defines
    assert "shop/cart.py: 1,6 (in checkout)" in defines and "shop/report.py: 1,5 (in monthly)" in defines
    assert "build/" not in defines  # ignored by .gitignore
    assert listing.startswith("# Code map: 2 files with definitions, 3 definitions")
    # Most used first: page.js renders the cart; nothing outside refers to CartLine.
    assert "web/api.ts\n  2: export function renderCart(lines: CartLine[]): string { return lines.join(); }  [1]\n" \
        "  1: export interface CartLine { sku: string }\n" in listing
    assert "web/page.js" in listing and "shop/" not in listing
    assert missing.startswith("no definition named 'total'") and "total_with_tax" in missing
    assert nowhere.startswith("error: no source files with definitions under 'no/such/dir'")
    assert "code_map" in srv.requests[0].tool_names


def test_the_system_prompt_shows_the_head_of_the_map_most_used_first(server, cli, workspace):
    project(workspace)
    _, srv = ask(server, cli, workspace, [{"name": "code_map", "arguments": {}}])
    system = srv.requests[0].system
    section = system[system.index("# Code map"):]
    # pricing.py is what the others use: it comes first, its used names with their users.
    assert section.index("shop/pricing.py") < section.index("shop/cart.py")
    assert "9: def total_with_tax(amount):  [2]" in section and "4: class PriceBook:  [1]" in section
    written = (workspace / ".agentcli" / "CODEMAP.md").read_text()
    assert written.startswith("# Code map: 8 files with definitions")  # with the fixture's src/
    assert "      5: def lookup(self, sku):" in written  # members in the whole map, under their class


def test_a_small_model_gets_a_smaller_head_and_no_map_when_turned_off(server, cli, workspace):
    project(workspace)
    for k in range(60):  # more code than any head holds
        (workspace / "lib" / f"mod{k:02d}.py").parent.mkdir(exist_ok=True)
        (workspace / "lib" / f"mod{k:02d}.py").write_text(
            "".join(f"def handler_{k}_{j}(request):\n    return {j}\n\n" for j in range(8)))
    heads = {}
    for name, env in (("full", None), ("lean", {"AGENTCLI_LEAN": "1"})):
        _, srv = ask(server, cli, workspace, [{"name": "code_map", "arguments": {}}], env=env)
        system = srv.requests[0].system
        heads[name] = system[system.index("# Code map"):].split("\n\n# ")[0]
    assert len(heads["lean"]) < len(heads["full"]) <= 1100 * 4
    assert heads["lean"].rstrip().endswith('lists them') and "shop/pricing.py" in heads["lean"]
    _, srv = ask(server, cli, workspace, [{"name": "read", "arguments": {"path": "shop/cart.py"}}],
                 env={"AGENTCLI_CODEMAP": "0"})
    assert "# Code map" not in srv.requests[0].system and "code_map" not in srv.requests[0].tool_names


def test_the_map_follows_changed_files_only_and_is_redacted(workspace, tmp_path):
    project(workspace)
    key = "sk-ant-api03-" + "x7" * 20
    (workspace / "shop" / "settings.py").write_text(f'API_KEY = "{key}"\n')
    library = Library(tmp_path / "lib")
    cmap = CodeMap(workspace, library)
    first = cmap.update()
    assert (first.files, first.parsed) == (9, 9)  # with the fixture's src/
    again = cmap.update()
    assert again.parsed == 0 and again.removed == 0
    (workspace / "shop" / "report.py").write_text("def yearly(rows):\n    return rows\n")
    (workspace / "web" / "page.js").unlink()
    (workspace / "shop" / "cart.py").touch()  # newer mtime, same content: not parsed again
    changed = cmap.update()
    assert (changed.parsed, changed.removed) == (1, 1)
    assert [d[0] for d in cmap.definitions("yearly")] == ["shop/report.py"]
    assert [r[0] for r in cmap.references("total_with_tax")] == ["shop/cart.py"]
    for path in (tmp_path / "lib").iterdir():
        assert key not in path.read_text(errors="replace"), path
    assert 'API_KEY = "[REDACTED' in (tmp_path / "lib" / "CODEMAP.md").read_text()


def test_a_first_build_past_its_deadline_maps_the_rest_on_the_next_update(workspace, tmp_path):
    project(workspace)
    cmap = CodeMap(workspace, Library(tmp_path / "lib"))
    partial = cmap.update(deadline_s=0.0)
    assert partial.pending == 8 and partial.parsed == 0
    assert "(partial: 8 files not mapped yet)" in cmap.render()
    rest = cmap.update()
    assert (rest.parsed, rest.pending) == (8, 0) and "partial" not in cmap.render()
