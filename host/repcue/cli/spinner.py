"""A spinner on stderr for waits a person would otherwise stare at (a BLE scan, a connection,
a port that does not answer): shown only when stderr is a terminal, and only once the wait
has lasted half a second, so quick commands and scripts never see one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console

DELAY_S = 0.5


@contextmanager
def spinner(text: str, *, delay_s: float = DELAY_S) -> Iterator[None]:
    err = Console(stderr=True, highlight=False)
    if not err.is_terminal:
        yield
        return
    status = err.status(text)
    lock = threading.Lock()
    done = False

    def show() -> None:
        with lock:
            if not done:
                status.start()

    timer = threading.Timer(delay_s, show)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            done = True
            timer.cancel()
            status.stop()  # transient: the line goes away
