"""`agentcli chat`: the interactive terminal chat."""

from __future__ import annotations

from agentcli.cli import options as opt


def chat() -> None:
    opt.fail("interactive chat is not built yet; use `agentcli run PROMPT`")


def chat_default() -> None:
    chat()
