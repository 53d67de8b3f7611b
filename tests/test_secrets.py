"""Secrets never reach the library, the model or the reports: known key formats and the values of
environment variables named like secrets are cut out of everything written."""

from __future__ import annotations

import json

import pytest

from agentcli.library.archive import Archive, read_events
from agentcli.secrets import Redactor, secret_env_values
from agentcli.testing.scripted_server import Turn

# Built from pieces so this file itself does not look like it leaks keys to scanners.
KEYS = {
    "anthropic-key": "sk-ant-api03-" + "Ab3_xY9-" * 10 + "AA",
    "openai-key": "sk-proj-" + "Zq8Lm2Np_" * 8,
    "api-key": "sk-" + "a1B2c3D4e5" * 5,
    "github-token": "ghp_" + "R4nd0mT0k3n" * 4,
    "gitlab-token": "glpat-" + "xY7_zQ2-aB9c" * 2,
    "aws-access-key": "AKIA" + "IOSFODNN7EXAMPLE",
    "slack-token": "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx",
    "google-api-key": "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "stripe-key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "huggingface-token": "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ012345",
    "jwt": "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0." + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}


@pytest.mark.parametrize("label", sorted(KEYS))
def test_known_key_formats_are_cut_and_named(label):
    key = KEYS[label]
    out = Redactor(env={})(f"before {key} after")
    assert key not in out
    assert out == f"before [REDACTED:{label}] after"


def test_keys_inside_json_lines_and_escapes_are_cut():
    redact = Redactor(env={})
    line = json.dumps({"text": "line one\n" + KEYS["github-token"] + "\tand " + KEYS["api-key"]})
    out = redact(line)
    assert KEYS["github-token"] not in out and KEYS["api-key"] not in out
    assert json.loads(out)["text"].startswith("line one\n[REDACTED:github-token]")


def test_context_secrets_keep_their_context():
    redact = Redactor(env={})
    aws = "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert redact(aws) == "aws_secret_access_key = [REDACTED:aws-secret-key]"
    assert redact("Authorization: Bearer abcdefghijklmnopqrstuvwxyz123") == \
        "Authorization: Bearer [REDACTED:bearer-token]"
    assert redact("git clone https://bob:hunter2hunter2@example.com/r.git") == \
        "git clone https://bob:[REDACTED:url-password]@example.com/r.git"
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8Pb\n" \
          "-----END RSA PRIVATE KEY-----"
    assert redact(f"key:\n{pem}\nend") == "key:\n[REDACTED:private-key]\nend"


ORDINARY = [
    "def get_token(self):\n    token = self.get_token()\n    return token",
    "password = os.environ['DB_PASSWORD']",
    'url = f"https://{user}:{password}@{host}/db"',
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    "the risk-assessment-framework-documentation-index is long",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "task-" + "a" * 40,
    "https://example.com/path?q=1 and ssh git@github.com:owner/repo.git",
    "Bearer token missing",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_code_and_text_are_left_alone(text):
    assert Redactor(env={})(text) == text


def test_values_of_secret_named_variables_are_cut_in_raw_and_json_form():
    env = {"MY_SERVICE_TOKEN": 'tok"en\\value-123', "DB_PASSWORD": "correct horse battery",
           "STRIPE_SECRET": "plainsecretvalue", "HOME": "/root", "SHORT_KEY": "abc",
           "DEBUG_TOKEN": "true", "PATH": "/usr/bin"}
    redact = Redactor(env=env)
    assert set(redact.env_names.values()) == {"MY_SERVICE_TOKEN", "DB_PASSWORD", "STRIPE_SECRET"}
    text = 'pw=correct horse battery; t=tok"en\\value-123; s=plainsecretvalue; abc true /root'
    out = redact(text)
    assert out == ("pw=[REDACTED:$DB_PASSWORD]; t=[REDACTED:$MY_SERVICE_TOKEN]; "
                   "s=[REDACTED:$STRIPE_SECRET]; abc true /root")
    line = json.dumps({"content": text}, ensure_ascii=False)
    assert 'tok\\"en' not in redact(line) and "plainsecretvalue" not in redact(line)
    assert json.loads(redact(line))["content"] == out


def test_names_that_count_as_secret():
    names = ("OPENAI_API_KEY", "GH_TOKEN", "AWS_SECRET", "PGPASSWORD", "app_secret", "KEYBOARD",
             "TOKENIZER", "SECRETARY")
    env = {n: f"value-of-{n}" for n in names}
    assert set(secret_env_values(env).values()) == {"OPENAI_API_KEY", "GH_TOKEN", "AWS_SECRET",
                                                   "PGPASSWORD", "app_secret"}


def test_archive_lines_are_redacted_before_they_are_written(tmp_path):
    redact = Redactor(env={"X_API_KEY": "planted-value-42"})
    archive = Archive(tmp_path / "events.jsonl", redact=redact)
    archive.append("user", message={"role": "user", "content": "use planted-value-42 and "
                                    + KEYS["anthropic-key"]})
    archive.close()
    raw = (tmp_path / "events.jsonl").read_text()
    assert "planted-value-42" not in raw and KEYS["anthropic-key"] not in raw
    (event,) = read_events(tmp_path / "events.jsonl")
    assert event["message"]["content"] == "use [REDACTED:$X_API_KEY] and [REDACTED:anthropic-key]"


# -- end to end: the real CLI, a planted secret in the environment and in a file ---------------

ENV_SECRET = "s3cr3t-planted-in-env-0xC0FFEE"
FILE_SECRET = KEYS["github-token"]


def _echo_everything(req):
    """Reads the secret file, dumps the environment, then answers with every result it got."""
    if req.assistant_turns == 0:
        return Turn(text="Looking.", tool_calls=[
            {"name": "read", "arguments": {"path": "config/.env"}},
            {"name": "shell", "arguments": {"command": "env; cat config/.env"}},
            {"name": "grep", "arguments": {"pattern": "TOKEN"}}])
    return Turn(text="Here is what I saw:\n" + "\n".join(req.tool_results()))


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_planted_secrets_never_reach_the_library_the_model_or_the_output(
        provider, server, cli, workspace):
    (workspace / "config").mkdir()
    (workspace / "config" / ".env").write_text(f"GITHUB_TOKEN={FILE_SECRET}\n"
                                               f"OTHER={ENV_SECRET}\n")
    srv = server(_echo_everything)
    proc = cli(srv, DEPLOY_TOKEN=ENV_SECRET)(
        "run", f"check the config; the deploy token is {ENV_SECRET}", "-C", str(workspace),
        "--model", f"{provider}/m", "--output-format", "stream-json")
    assert proc.returncode == 0, proc.stderr
    assert "[REDACTED:github-token]" in proc.stdout and "[REDACTED:$DEPLOY_TOKEN]" in proc.stdout
    for secret in (ENV_SECRET, FILE_SECRET):
        assert secret not in proc.stdout and secret not in proc.stderr
        # The model saw tool output without it (the prompt itself is the user's to send).
        assert all(secret not in "\n".join(r.tool_results()) for r in srv.requests)
    files = [p for p in (workspace / ".agentcli").rglob("*") if p.is_file()]
    assert files, "the run wrote no library files"
    for path in files:
        data = path.read_bytes()
        assert ENV_SECRET.encode() not in data and FILE_SECRET.encode() not in data, path
    # The redaction does not cost the record: the events are all there.
    archive = next(p for p in files if p.name == "events.jsonl")
    types = [e["type"] for e in read_events(archive)]
    assert types.count("tool_result") == 3 and types[-1] == "run_end"


def test_reproduction_reports_are_redacted(tmp_path, monkeypatch):
    from test_reproduce_report import entry, make

    from agentcli.reproduce.report import build

    monkeypatch.setenv("HF_TOKEN", "hf-planted-value-123456")
    make(tmp_path, {"C1": entry(4.02, command="HF_TOKEN=hf-planted-value-123456 python run.py",
                                notes="used " + KEYS["openai-key"]),
                    "C2": entry(3), "C3": entry(3.5355)})
    build(tmp_path, figure=False)
    text = (tmp_path / "REPORT.md").read_text()
    assert "hf-planted-value-123456" not in text and KEYS["openai-key"] not in text
    assert "HF_TOKEN=[REDACTED:$HF_TOKEN] python run.py" in text and "[REDACTED:openai-key]" in text


@pytest.mark.parametrize("sandbox", ["off", "on"])
def test_commands_the_model_runs_do_not_see_the_providers_keys(server, cli, workspace, sandbox):
    from agentcli.sandbox import probe

    if sandbox == "on" and probe()[0] is None:
        pytest.skip("no working bubblewrap here")
    names = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GROQ_API_KEY", "AGENTCLI_FALLBACK",
             "MY_PROJECT_SETTING", "AZURE_OPENAI_API_KEY"]
    command = "; ".join(f"echo {n}=${{{n}:-unset}}" for n in names)

    def respond(req):
        if not req.tool_results():
            return Turn(tool_calls=[{"name": "shell", "arguments": {"command": command}}])
        return Turn(text=req.tool_results()[-1])

    srv = server(respond)
    env = {"GROQ_API_KEY": "gsk_" + "x" * 20, "MY_PROJECT_SETTING": "kept-as-is",
           "AZURE_OPENAI_API_KEY": "az" * 12}
    result, proc = cli(srv, **env).json("run", "show env", "-C", str(workspace), "--model",
                                        "openai/m", "--sandbox", sandbox)
    assert proc.returncode == 0, proc.stderr
    out = result["result"]
    for name in ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GROQ_API_KEY", "AGENTCLI_FALLBACK",
                 "AZURE_OPENAI_API_KEY"]:
        assert f"{name}=unset" in out, out
    assert "MY_PROJECT_SETTING=kept-as-is" in out


def test_a_user_can_pass_a_provider_variable_through_on_purpose():
    from agentcli.sandbox import child_env

    env = child_env({"OPENAI_API_KEY": "k" * 20, "ANTHROPIC_BASE_URL": "http://x", "PATH": "/bin",
                     "AGENTCLI_PASS_ENV": "openai_api_key", "GITHUB_TOKEN": "t" * 20})
    assert env["OPENAI_API_KEY"] == "k" * 20 and "ANTHROPIC_BASE_URL" not in env
    assert env["PATH"] == "/bin" and env["GITHUB_TOKEN"] == "t" * 20  # not a model provider's
    assert env["PAGER"] == "cat" and "AGENTCLI_PASS_ENV" not in env
