"""Signals in unattended runs: SIGTERM stops the run cleanly (a ledger, a commit and a report
are still written), SIGHUP is ignored so a closed terminal does not end a night's work; and the
scale of the outage waits."""

from __future__ import annotations

import signal
import threading

from agentcli import config, deadline
from agentcli.deadline import StopRun


def outage_scale() -> float:
    """AGENTCLI_OUTAGE_WAIT_SCALE: a factor on the waits for a failing provider (tests use 0.01)."""
    return config.env().outage_wait_scale


def install_signals():
    """SIGTERM → a clean stop; SIGHUP ignored. Returns a function that puts the old ones back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def on_term(signum, frame):  # noqa: ARG001
        deadline.request_stop(StopRun("interrupted", "stopped by SIGTERM"))

    old = {signal.SIGTERM: signal.signal(signal.SIGTERM, on_term)}
    if hasattr(signal, "SIGHUP"):
        old[signal.SIGHUP] = signal.signal(signal.SIGHUP, signal.SIG_IGN)

    def restore() -> None:
        for sig, handler in old.items():
            signal.signal(sig, handler)

    return restore
