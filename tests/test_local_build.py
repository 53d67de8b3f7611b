"""The llama-cpp-python build: the CPU's own instruction sets, never the AMX kernels that crash,
and a wheelhouse keyed by the flags (pip's own cache is not)."""

from __future__ import annotations

import subprocess
import sys

from agentcli.local import build

XEON_AMX = ("processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse4_2 avx avx2 bmi2 fma f16c "
            "avx512f avx512bw avx512vl avx512vbmi avx512_vnni avx512_bf16 avx_vnni amx_tile amx_int8 "
            "amx_bf16\n")
OLD_CPU = "flags\t\t: fpu sse4_2 avx\n"


def _on(args: list[str]) -> set[str]:
    return {a[2:].split("=")[0] for a in args if a.endswith("=ON")}


def test_an_amx_xeon_gets_avx512_but_never_amx():
    args = build.cmake_args(build.cpu_flags(XEON_AMX), machine="x86_64")
    assert "-DGGML_NATIVE=OFF" in args
    assert {"GGML_AVX2", "GGML_AVX512", "GGML_AVX512_VNNI", "GGML_AVX512_BF16", "GGML_AVX_VNNI"} <= _on(args)
    assert not any("AMX" in option for option in _on(args))
    assert {"-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF"} <= set(args)


def test_a_cpu_without_avx2_gets_a_build_it_can_run():
    args = build.cmake_args(build.cpu_flags(OLD_CPU), machine="x86_64")
    assert _on(args) == {"GGML_SSE42", "GGML_AVX"}
    assert "-DGGML_AVX2=OFF" in args and "-DGGML_FMA=OFF" in args


def test_avx512_needs_its_base_sets_together():
    partial = build.cpu_flags("flags : avx avx2 fma f16c avx512f avx512_vnni\n")
    assert "GGML_AVX512" not in _on(build.cmake_args(partial, machine="x86_64"))


def test_other_architectures_keep_llama_cpps_defaults_and_cuda_is_one_switch():
    assert build.cmake_args(set(), machine="aarch64") == []
    assert build.cmake_args(set(), machine="aarch64", gpu="cuda") == ["-DGGML_CUDA=on"]


def test_each_set_of_flags_has_its_own_wheel_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    a = build.wheel_dir(build.cmake_args(build.cpu_flags(XEON_AMX), machine="x86_64"))
    b = build.wheel_dir(build.cmake_args(build.cpu_flags(OLD_CPU), machine="x86_64"))
    assert a != b and a.parent == b.parent == tmp_path / "agentcli" / "wheels"


def test_the_fix_command_avoids_pips_cache():
    command = build.install_command(["-DGGML_NATIVE=OFF"])
    assert command.startswith('CMAKE_ARGS="-DGGML_NATIVE=OFF"') and "--no-cache-dir" in command
    assert "--no-binary llama-cpp-python" in command and f"=={build.VERSION}" in command


def test_the_builder_runs_by_path_before_agentcli_is_installed():
    """The setup scripts call it as a file: it must need nothing but the standard library."""
    proc = subprocess.run([sys.executable, "-S", build.__file__, "--print-args"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("-DGGML_NATIVE=OFF") or proc.stdout.strip() == ""
