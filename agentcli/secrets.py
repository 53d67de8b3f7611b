"""Redacting secrets before anything leaves memory: archive lines, index files, summaries, logs,
and tool output shown to the model and in reports.

Two sources of secrets are recognised:
- known key formats (Anthropic, OpenAI, GitHub, GitLab, AWS, Slack, Google, Stripe, Hugging Face,
  npm, JWTs, private key blocks, `Bearer` tokens, passwords in URLs);
- the values of environment variables whose names end in KEY, TOKEN, SECRET or PASSWORD (also
  PASSWD, PASS, PWD-less variants like API_KEY, ACCESS_TOKEN), when long enough to be a secret.

Each secret is replaced by `[REDACTED:<what>]`, so a reader still sees that something was there.
The redactor works on any text, including a line of JSON: values of environment variables are
matched in their JSON-escaped form too.
"""

from __future__ import annotations

import json
import os
import re
from typing import Callable, Mapping

# Shorter values are too likely to be ordinary words ("true", "dev", "1234") to cut out of text.
MIN_ENV_SECRET_LEN = 8
_SECRET_NAME = re.compile(r"(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIALS?)$", re.I)
# Variables whose names look secret but hold well-known public values.
_NOT_SECRET_NAMES = {"GPG_KEY_ID", "SSH_AUTH_SOCK", "KEY", "TOKEN"}
_NOT_SECRET_VALUES = {"true", "false", "none", "null", "undefined", "changeme", "password"}

# (label, pattern, hints, edge). Group 1, when present, is the part cut; the rest is context kept.
# `hints`: the redactor runs on every line written, so a pattern that cannot start with a fixed
# string (case-insensitive ones) runs only where one of its hints occurs; () means always.
# `edge`: the format's prefix could end an ordinary word ("task-…", "shelf_…"), so a match right
# after a letter or digit is left alone (unless that is a JSON escape such as \n).
PATTERNS: list[tuple[str, str, tuple[str, ...], bool]] = [
    ("private-key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]{16,}?-----END [A-Z ]*PRIVATE KEY-----",
     ("PRIVATE KEY-----",), False),
    ("anthropic-key", r"sk-ant-[A-Za-z0-9_\-]{20,}", (), False),
    ("openai-key", r"sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{20,}", (), False),
    ("api-key", r"sk-[A-Za-z0-9]{32,}(?![A-Za-z0-9])", (), True),
    ("github-token", r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}", (), False),
    ("gitlab-token", r"glpat-[A-Za-z0-9_\-]{20,}", (), False),
    ("aws-access-key", r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![0-9A-Z])", (), True),
    ("aws-secret-key", r"(?i:aws_?secret_?access_?key|secretaccesskey)[\"']?\s*[:=]\s*[\"']?"
                       r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
     ("aws_secret", "AWS_SECRET", "awssecret", "AwsSecret", "ecretAccessKey", "ecretaccesskey"), False),
    ("slack-token", r"xox[abeoprs]-[A-Za-z0-9\-]{10,}", (), False),
    ("slack-webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]{20,}", (), False),
    ("google-api-key", r"AIza[0-9A-Za-z_\-]{35}", (), False),
    ("google-oauth-token", r"ya29\.[0-9A-Za-z_\-]{20,}", (), False),
    ("stripe-key", r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,}", ("_live_", "_test_"), False),
    ("huggingface-token", r"hf_[A-Za-z0-9]{30,}", (), True),
    ("npm-token", r"npm_[A-Za-z0-9]{36}", (), True),
    ("jwt", r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{10,}", (), True),
    ("bearer-token", r"(?i:bearer)\s+([A-Za-z0-9_\-.=+/~]{20,})", ("earer", "EARER"), True),
    ("url-password", r"://[^\s:/@\"'\\{}$<>]+:([^\s@/\"'\\{}$<>]{3,})@", (), False),
]

_COMPILED = [(label, re.compile(p), hints, edge) for label, p, hints, edge in PATTERNS]


def secret_env_values(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """{value: variable name} for environment variables that hold secrets by their name."""
    env = os.environ if env is None else env
    found: dict[str, str] = {}
    for name, value in env.items():
        if name.upper() in _NOT_SECRET_NAMES or not _SECRET_NAME.search(name):
            continue
        value = value.strip()
        if len(value) < MIN_ENV_SECRET_LEN or value.lower() in _NOT_SECRET_VALUES:
            continue
        if value[0] in "/~" and os.path.exists(os.path.expanduser(value)):
            continue  # a path to a key file, not the key
        found[value] = name
    return found


class Redactor:
    """A callable `text -> text` that cuts secrets out. Build once per session; it is cheap to call."""

    def __init__(self, env: Mapping[str, str] | None = None, extra: list[str] | None = None):
        values = secret_env_values(env)
        for value in extra or []:
            if len(value) >= MIN_ENV_SECRET_LEN:
                values[value] = "secret"
        self.env_names = values
        forms: dict[str, str] = {}
        for value, name in values.items():
            forms[value] = name
            escaped = json.dumps(value, ensure_ascii=False)[1:-1]
            forms.setdefault(escaped, name)  # the same value inside a JSON line
            forms.setdefault(json.dumps(value)[1:-1], name)
        # Longest first, so a value containing another is cut whole.
        ordered = sorted(forms, key=len, reverse=True)
        self._names = forms
        self._literal = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None

    def __call__(self, text: str) -> str:
        if not text:
            return text
        if self._literal is not None and any(v in text for v in self._names):
            text = self._literal.sub(lambda m: f"[REDACTED:${self._names[m.group(0)]}]", text)
        for label, pattern, hints, edge in _COMPILED:
            if not hints or any(h in text for h in hints):
                text = pattern.sub(lambda m, label=label, edge=edge: _cut(m, label, edge), text)
        return text


def _cut(match: re.Match[str], label: str, edge: bool) -> str:
    whole = match.group(0)
    at, text = match.start(), match.string
    if edge and at and text[at - 1].isascii() and text[at - 1].isalnum() \
            and not (at >= 2 and text[at - 2] == "\\" and text[at - 1] in "nrtbf"):
        return whole  # the end of an ordinary word, not the start of a key
    if match.re.groups and match.group(1) is not None:
        start, end = match.span(1)
        offset = match.start(0)
        return whole[: start - offset] + f"[REDACTED:{label}]" + whole[end - offset:]
    return f"[REDACTED:{label}]"


Redact = Callable[[str], str]

_default: Redactor | None = None
_default_env: dict[str, str] | None = None


def default_redactor() -> Redactor:
    """The redactor for this process's environment, rebuilt if the environment changed."""
    global _default, _default_env
    env = dict(os.environ)
    if _default is None or env != _default_env:
        _default, _default_env = Redactor(env), env
    return _default


def redact(text: str) -> str:
    """Redact `text` with the process's default redactor."""
    return default_redactor()(text)
