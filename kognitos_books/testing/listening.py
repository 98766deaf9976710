"""Testing triggers: a listener run in a thread for the length of a ``with`` block.

``with Listening(Listener(rt, [("paid.kb", text)], port=0)) as running:`` starts it (its
receiver on a free loopback port when it has one; polling otherwise), returns once it is
ready, keeps every line it says in ``running.lines``, and stops it when the block ends.
:func:`wait_for` waits for a condition to hold, with a deadline, instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..triggers.listener import Listener

__all__ = ["Listening", "wait_for"]


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, every: float = 0.02) -> Any:
    """The first true value ``condition`` returns within ``timeout`` seconds, else its last
    (false) value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


class Listening:
    """A listener in a thread, ready on entry, stopped on exit."""

    def __init__(self, listener: Listener, timeout: float = 30.0) -> None:
        self.listener = listener
        self.timeout = timeout
        self.lines: list[str] = []
        listener.say = self.lines.append
        self._ready = threading.Event()
        self._thread = threading.Thread(target=listener.run, daemon=True, name="kbooks-listening",
                                        kwargs={"ready": lambda port: self._ready.set()})

    def __enter__(self) -> Listening:
        self._thread.start()
        if not self._ready.wait(self.timeout):
            self.__exit__()
            raise RuntimeError("the listener did not get ready: " + " | ".join(self.lines))
        server = self.listener.server
        if server is not None and not wait_for(lambda: server.started, self.timeout):
            self.__exit__()
            raise RuntimeError("the listener's server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.stop()
        self._thread.join(self.timeout)
