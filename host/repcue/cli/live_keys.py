"""Keys for `repcue live` when stdin is a terminal: s starts the installed program, p
pauses or resumes, l laps, k skips to the next step, x stops and saves the session. START
and STOP are their own requests; pause, lap and skip are PRESS requests, pressed as the
device's own buttons would be."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import termios
import tty
from collections.abc import Callable, Coroutine, Iterator
from datetime import datetime
from typing import Any

from repcue.errors import RepcueError
from repcue.link.client import DeviceClient
from repcue_fw.wire import events as ev

HELP = "keys: s start, p pause/resume, l lap, k skip, x stop and save, Ctrl-C leave it running"
# key -> (what it is called, the button it presses: None for START and STOP's own requests)
KEYS: dict[str, tuple[str, int | None]] = {
    "s": ("start", None),
    "p": ("pause", ev.BTN_PAUSE),
    "l": ("lap", ev.BTN_LAP),
    "k": ("skip", ev.BTN_SKIP),
    "x": ("stop", None),
}


class Keys:
    """Presses keys on whichever client `live` holds now (None while reconnecting)."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.client: DeviceClient | None = None
        self.say = say
        self._tasks: set[asyncio.Task[None]] = set()

    def set_client(self, client: DeviceClient | None) -> None:
        self.client = client

    def on_key(self, key: str) -> None:
        found = KEYS.get(key.lower())
        if found is not None:
            self._spawn(self._press(*found))

    def start_at(self, at_unix_ms: int, what: str) -> None:
        """Schedule START for a wall-clock instant on the device's own clock: its clock is
        set first (to the ms), so the instant means the same on every device of a group."""
        self._spawn(self._start_at(at_unix_ms, what))

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)

    async def _start_at(self, at_unix_ms: int, what: str) -> None:
        client = self.client
        if client is None:
            self.say(f"{what}: not connected right now, not started")
            return
        try:
            await client.set_time()
            await client.start(at_unix_ms=at_unix_ms)
        except RepcueError as err:  # past by now, a session running, no program...
            self.say(f"{what}: {err}")
            return
        when = datetime.fromtimestamp(at_unix_ms / 1000).strftime("%H:%M:%S.%f")[:-3]
        error_ms = (client.clock_error_s or 0.0) * 1000
        self.say(f"{what}: the device starts at {when} by its clock (set to +-{error_ms:.0f} ms)")

    async def _press(self, command: str, button: int | None) -> None:
        client = self.client
        if client is None:
            self.say(f"{command}: not connected right now")
            return
        try:
            if button is not None:
                if not await client.press(button):
                    self.say(f"{command}: nothing to do (no session running, or not now)")
            elif command == "start":
                await client.start()
            else:
                await client.stop()
        except RepcueError as err:  # e.g. stop with nothing running: said, not fatal
            self.say(f"{command}: {err}")


@contextlib.contextmanager
def reading_keys(keys: Keys) -> Iterator[bool]:
    """Hand each key typed on a terminal stdin to keys (cbreak mode: no Enter needed,
    Ctrl-C still interrupts); yields whether keys are read at all."""
    if not sys.stdin.isatty():
        yield False
        return
    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    loop = asyncio.get_running_loop()
    tty.setcbreak(fd)

    def readable() -> None:
        for key in os.read(fd, 64).decode(errors="replace"):
            keys.on_key(key)

    loop.add_reader(fd, readable)
    try:
        yield True
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
