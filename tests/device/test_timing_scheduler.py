"""What keeps the virtual device's scheduler fast and its cue log whole, in the real
micropython binary.

- No ThreadSafeFlag waits in asyncio's poll set while the sim board idles (buttons, REPL
  request, control channel): on the unix port one such wait makes every scheduler pass poll
  in 1 ms steps, which shows up as cue lateness and ~1 ms per link response.
  bench/cue_timing.py measures the cost; this test pins the cause.
- The control channel loses no record sent while its writer drains (MicroPython's
  StreamWriter.drain() drops whatever is written into it meanwhile).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.mpy import run_mpy

_SOCKET_PAIR = """
import asyncio, json, os, socket, struct, time
from repcue_fw.boards.sim.control import ControlChannel, _sockaddr_un

def listener(path):
    try:
        os.remove(path)
    except OSError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(_sockaddr_un(path))
    srv.listen(1)
    return srv

def thread_safe_waits():
    # asyncio's poll set: [reader task, writer task, pollable] per registered object
    found = []
    for entry in asyncio.core._io_queue.map.values():
        name = type(entry[2]).__name__
        if name == "ThreadSafeFlag":
            found.append(name)
    return found
"""


def mpy(code: str, tmp_path: Path, heap_kb: int | None = None) -> dict[str, object]:
    sock = str(tmp_path / "ctl.sock")
    out = run_mpy(
        _SOCKET_PAIR + code.replace("SOCK_PATH", repr(sock)), heap_kb=heap_kb, timeout_s=30
    )
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def test_an_idle_sim_board_waits_on_nothing_but_file_descriptors(tmp_path: Path) -> None:
    r = mpy(
        """
from repcue_fw.boards.sim import Board
srv = listener(SOCK_PATH)
board = Board({"ctl": SOCK_PATH})
conn, _ = srv.accept()
out = {}

async def handle(req):
    return None

async def main():
    board.start()  # control requests + flush task
    tasks = [asyncio.create_task(board.buttons.get()), asyncio.create_task(board.wait_repl())]
    await asyncio.sleep_ms(20)
    out["waits"] = thread_safe_waits()
    out["polled"] = len(asyncio.core._io_queue.map)
    # the Event-based queue still wakes its reader, with the press tick
    board.buttons.push(3, 12345)
    await asyncio.sleep_ms(0)
    await asyncio.sleep_ms(0)
    out["got"] = [tasks[0].done(), board.buttons.last_ticks]
    board.reset_to_repl()
    await asyncio.sleep_ms(0)
    await asyncio.sleep_ms(0)
    out["repl"] = tasks[1].done()
    board.stop()

asyncio.run(main())
print(json.dumps(out))
""",
        tmp_path,
    )
    assert r["waits"] == []
    assert r["polled"] == 1  # only the control socket, waiting for a request
    assert r["got"] == [True, 12345]
    assert r["repl"] is True


def test_the_control_channel_keeps_every_record_sent_while_it_drains(tmp_path: Path) -> None:
    r = mpy(
        """
srv = listener(SOCK_PATH)
ch = ControlChannel(SOCK_PATH)
conn, _ = srv.accept()
conn.setblocking(False)
pad = "x" * 200
out = {}

async def read_all():
    data = bytearray()
    idle = 0
    while idle < 20:
        try:
            got = conn.recv(65536)
        except OSError:
            got = None
        if got:
            data.extend(got)
            idle = 0
        else:
            idle += 1
            await asyncio.sleep_ms(10)
    return data

async def main():
    flush = asyncio.create_task(ch.flush_task())
    n = 0
    while not ch._writer.out_buf:  # fill the socket until a write has to wait
        ch.send({"n": n, "pad": pad})
        n += 1
    for _ in range(50):  # queued in the writer before any drain
        ch.send({"n": n, "pad": pad})
        n += 1
    await asyncio.sleep_ms(0)  # the flush task starts draining; the peer is not reading
    out["draining"] = ch._draining
    for _ in range(300):  # sent during the drain
        ch.send({"n": n, "pad": pad})
        n += 1
    data = await read_all()
    lines = bytes(data).split(b"\\n")[:-1]
    out["sent"] = n
    out["channel_sent"] = ch.sent
    out["dropped"] = ch.dropped
    out["got"] = [json.loads(line)["n"] for line in lines]
    flush.cancel()

asyncio.run(main())
out["got_ok"] = out["got"] == list(range(out["sent"]))
out["got_n"] = len(out.pop("got"))
print(json.dumps(out))
""",
        tmp_path,
        heap_kb=8192,
    )
    assert r["draining"] is True
    assert r["dropped"] == 0
    assert r["channel_sent"] == r["sent"]
    assert r["got_n"] == r["sent"]
    assert r["got_ok"] is True  # every record, once, in order
