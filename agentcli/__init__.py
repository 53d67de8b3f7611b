"""agentcli: a terminal coding agent with file-based long context, a bundled local model and
unattended runs. The loop is in `agentcli.loop`; see the README for the map of modules."""

__version__ = "0.1.0"
