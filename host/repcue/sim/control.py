"""The host end of the virtual device's control channel (JSON lines on a unix socket).

A reader thread keeps the cue and event log (with the board's ticks and unwrapped virtual
ms) and matches replies to requests; requests are sent from any thread. The record format
is described in firmware/repcue_fw/boards/sim/control.py.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from repcue.errors import SimError
from repcue_fw.wire import events as ev

# The logical buttons by name, for press() and the command line.
BUTTONS = {
    "start": ev.BTN_START,
    "pause": ev.BTN_PAUSE,
    "lap": ev.BTN_LAP,
    "skip": ev.BTN_SKIP,
    "stop": ev.BTN_STOP,
}


@dataclass(frozen=True)
class CueRecord:
    ticks: int  # the board's 30-bit tick when the cue started
    ms: int  # virtual ms since boot (never wraps)
    cue_id: int
    pattern: tuple[int, ...]
    due_ticks: int | None  # the tick it was scheduled for
    late_ms: int | None


@dataclass(frozen=True)
class EventRecord:
    ticks: int
    ms: int
    code: int
    a: int
    b: int
    step: dict[str, int] | None  # for EV_STEP_START: end, value, tt, tv, exp


Listener = Callable[[dict[str, Any]], None]


class ControlClient:
    def __init__(self, sock: socket.socket, on_release: Callable[[], None] | None = None) -> None:
        self._sock = sock
        self._on_release = on_release
        self._lock = threading.Condition()
        self._send_lock = threading.Lock()
        self._next_id = 1
        self._replies: dict[int, dict[str, Any]] = {}
        self.records: list[dict[str, Any]] = []
        self.boot: dict[str, Any] | None = None
        self.closed = False
        self._listeners: list[Listener] = []
        self._thread = threading.Thread(target=self._read_loop, name="sim-control", daemon=True)
        self._thread.start()

    # -- reading ----------------------------------------------------------------------------
    def _read_loop(self) -> None:
        buf = b""
        try:
            while True:
                chunk = self._sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if line.strip():
                        self._dispatch(json.loads(line))
        except (OSError, ValueError):
            pass
        finally:
            with self._lock:
                self.closed = True
                self._lock.notify_all()

    def _dispatch(self, record: dict[str, Any]) -> None:
        kind = record.get("k")
        if kind in ("ok", "err") and "id" in record:
            with self._lock:
                self._replies[int(record["id"])] = record
                self._lock.notify_all()
            return
        if kind == "release" and self._on_release is not None:
            self._on_release()
            self.send({"op": "released"})
        with self._lock:
            if kind == "boot":
                self.boot = record
            self.records.append(record)
            self._lock.notify_all()
        for listener in list(self._listeners):
            listener(record)

    def add_listener(self, listener: Listener) -> None:
        """listener(record) for every record, called on the reader thread (keep it quick)."""
        self._listeners.append(listener)

    # -- requests ---------------------------------------------------------------------------
    def send(self, request: dict[str, Any]) -> None:
        """Send without waiting for a reply."""
        data = json.dumps(request).encode() + b"\n"
        with self._send_lock:
            try:
                self._sock.sendall(data)
            except OSError as err:
                raise SimError(f"virtual device control channel closed: {err}") from err

    def request(self, op: str, timeout_s: float = 10.0, **fields: Any) -> dict[str, Any]:
        """Send {"op": op, ...} and wait for its reply; raise SimError on error or timeout."""
        with self._lock:
            rid = self._next_id
            self._next_id += 1
        self.send({"op": op, "id": rid, **fields})
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while rid not in self._replies:
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    why = "closed" if self.closed else f"no reply in {timeout_s} s"
                    raise SimError(f"virtual device control request {op!r}: {why}")
                self._lock.wait(left)
            reply = self._replies.pop(rid)
        if reply["k"] == "err":
            raise SimError(f"virtual device refused {op!r}: {reply.get('msg')}")
        return reply

    def now(self) -> tuple[int, int]:
        """(board ticks, virtual ms since boot)."""
        reply = self.request("now")
        return int(reply["t"]), int(reply["ms"])

    def press(self, button: int | str, at_ms: int | None = None) -> None:
        """A logical button (BTN_* or a name in BUTTONS), now or at virtual ms `at_ms`."""
        code = BUTTONS[button] if isinstance(button, str) else button
        fields: dict[str, Any] = {"b": code}
        if at_ms is not None:
            fields["at"] = at_ms
        self.request("press", **fields)

    def hold(self, index: int, duration_ms: int, at_ms: int | None = None) -> None:
        """Hold physical button `index` for duration_ms (goes through the gesture decoder)."""
        fields: dict[str, Any] = {"i": index, "ms": duration_ms}
        if at_ms is not None:
            fields["at"] = at_ms
        self.request("hold", **fields)

    def advance(self, ms: int, timeout_s: float = 60.0) -> int:
        """Stepped clock: move virtual time by `ms`; returns the new virtual ms."""
        return int(self.request("advance", timeout_s=timeout_s, ms=ms)["ms"])

    def autopilot(self, options: dict[str, Any] | None) -> None:
        """Switch the virtual runner on with these options (see AutopilotOptions), or off."""
        if options is None:
            self.request("autopilot", on=False)
        else:
            self.request("autopilot", on=True, **options)

    # -- the log ----------------------------------------------------------------------------
    def cues(self) -> list[CueRecord]:
        with self._lock:
            raw = [r for r in self.records if r.get("k") == "cue"]
        return [
            CueRecord(
                int(r["t"]), int(r["ms"]), int(r["c"]), tuple(r["p"]), r.get("due"), r.get("late")
            )
            for r in raw
        ]

    def events(self, code: int | None = None) -> list[EventRecord]:
        with self._lock:
            raw = [r for r in self.records if r.get("k") == "ev"]
        out = []
        for r in raw:
            if code is not None and r["c"] != code:
                continue
            step = None
            if "end" in r:
                step = {key: int(r[key]) for key in ("end", "value", "tt", "tv", "exp")}
            out.append(EventRecord(int(r["t"]), int(r["ms"]), r["c"], r["a"], r["b"], step))
        return out

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float = 10.0, start: int = 0
    ) -> dict[str, Any]:
        """The first record from index `start` on that matches; waits up to timeout_s."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            index = start
            while True:
                while index < len(self.records):
                    if predicate(self.records[index]):
                        return self.records[index]
                    index += 1
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    raise SimError(
                        "virtual device: no matching record "
                        + ("(channel closed)" if self.closed else f"in {timeout_s} s")
                    )
                self._lock.wait(left)

    def wait_event(self, code: int, timeout_s: float = 10.0, start: int = 0) -> dict[str, Any]:
        return self.wait_for(lambda r: r.get("k") == "ev" and r["c"] == code, timeout_s, start)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(timeout=2)
