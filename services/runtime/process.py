"""Child processes that never outlive their parent: the kernel signals them when it dies.

``cell up``, the benchmark harness and the fault tests start services and load generators as
child processes. Killed with SIGKILL (a CI timeout, an operator's ``kill -9``), the parent
cannot stop them; PR_SET_PDEATHSIG has the kernel send SIGTERM instead, and a service stops
cleanly on SIGTERM (commits, closes its clients).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel SIGTERM the child when this process dies (Linux).

    The libc lookup happens here, in the parent: a forked child of a threaded process (asyncio
    waits for children in threads) should do as little as possible before ``exec``. The death
    signal is bound to the *thread* that forks: start children from a long-lived thread (the
    main thread or the event loop's), never from a short-lived worker thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the prctl: nobody will signal
            os._exit(1)  # before exec; a self-SIGTERM would meet the parent's Python handler

    return preexec
