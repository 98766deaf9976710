"""Stopping a long-running command cleanly on Ctrl-C or a terminate request.

A shell that starts a process in the background, with no job control (a script's ``cmd &``,
many CI runners), starts it with Ctrl-C's signal ignored, and Python then never raises
``KeyboardInterrupt``: a server that waits for one runs on. :func:`stopping_on_signals`
handles both signals itself for as long as the command runs, so "Ctrl-C to stop" holds
however the process was started, and a process manager's terminate request stops it as
cleanly.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["stopping_on_signals"]

#: Ctrl-C, and the request a process manager (or ``kill``) sends to stop
SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stopping_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """While the block runs, each of :data:`SIGNALS` calls ``stop`` (which should only ask
    the command to stop, as setting an event does: it runs between two bytecodes of the main
    thread) instead of raising; the handlers before are put back after. Outside the main
    thread, where handlers cannot be set, it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, Any] = {}
    try:
        for number in SIGNALS:
            previous[number] = signal.signal(number, lambda signum, frame: stop())
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
