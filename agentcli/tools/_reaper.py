"""Runs one `shell` command outside the sandbox and takes it down if agentcli dies.

Started as `python -I -S _reaper.py AGENTCLI_PID PROGRAM ARGS...` in a process group of its own:
the kernel sends it SIGTERM when agentcli ends, even by SIGKILL (PR_SET_PDEATHSIG), and it then
kills its whole group, the command's children included. bwrap's --die-with-parent and PID
namespace do the same inside the sandbox. Standard library only: it runs before anything else.
"""

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: agentcli's own cleanup is all there is
        return
    signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))
    if os.getppid() != parent:  # agentcli was gone before the death signal was armed
        os.killpg(0, signal.SIGKILL)


def main(argv: list[str]) -> int:
    _die_with(int(argv[0]))
    child = os.fork()
    if child == 0:
        for name in ("SIGPIPE", "SIGXFSZ"):  # Python ignores these; the command must not
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
        try:
            os.execvp(argv[1], argv[1:])
        finally:
            os._exit(127)
    _, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):  # end the same way, so agentcli sees the signal, not a code
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
