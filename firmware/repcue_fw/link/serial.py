# Protocol mode on the USB serial port (the same port as the REPL): asyncio streams over
# sys.stdin.buffer / sys.stdout.buffer feeding a Dispatcher.
#
# While serving, Ctrl-C is disabled (micropython.kbd_intr(-1)) so 0x03 bytes inside
# frames reach us; the link leaves protocol mode on the REPL request or on the break-in
# bytes CR, Ctrl-C where a frame would start (what mpremote sends first), calling
# services.repl() once the last response is out. Nothing else may print meanwhile. Where a
# break-in could be under way the link reads byte by byte, so it never swallows what the host
# sends after it (mpremote's raw-REPL entry).
#
# On the unix port the launcher must set O_NONBLOCK on the pty (MicroPython has no fcntl):
# a blocking read(n) would freeze the event loop.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import asyncio
import sys

from repcue_fw.link import dispatch

HANGUP = const(0)  # the port went away (EIO on a pty whose host side closed)
REPL = const(1)  # the host asked for the REPL
BREAK = const(2)  # the break-in bytes arrived

_IDLE_RESET_MS = const(500)  # a partial frame older than this is line noise: drop it
_RX_CHUNK = const(256)
_EIO = const(5)


def _kbd_intr(ch):
    try:
        import micropython

        micropython.kbd_intr(ch)
    except (ImportError, AttributeError):
        pass


async def _send(writer, lock, data):
    # one frame per write() under the lock: a drain in one task must not lose bytes
    # another task appended meanwhile
    await lock.acquire()
    try:
        writer.write(data)
        await writer.drain()
    finally:
        lock.release()


async def _pump_events(dispatcher, writer, lock, flag):
    while True:
        await flag.wait()
        flag.clear()  # before draining: a post meanwhile sets it again, none is lost
        while True:
            out = dispatcher.next_event()
            if out is None:
                break
            await _send(writer, lock, out)


async def serve(dispatcher, stream_in=None, stream_out=None, clock=None):
    """Serve the protocol until the host leaves; return HANGUP, REPL or BREAK.

    stream_in/stream_out default to sys.stdin.buffer/sys.stdout.buffer; clock is anything
    with ticks_ms/ticks_diff (the board), by default the time module.
    """
    if clock is None:
        import time as clock
    s_in = stream_in if stream_in is not None else sys.stdin.buffer
    s_out = stream_out if stream_out is not None else sys.stdout.buffer
    reader = asyncio.StreamReader(s_in)
    writer = asyncio.StreamWriter(s_out, {})
    lock = asyncio.Lock()
    # an Event, not a ThreadSafeFlag: events come from tasks, and on the unix port a
    # ThreadSafeFlag in the poll set turns every scheduler pass into a 1 ms busy-poll
    flag = asyncio.Event()
    rx = bytearray(_RX_CHUNK)
    one = memoryview(rx)[:1]
    dec = dispatcher.decoder
    dispatcher.leave = 0
    dispatcher.reset_input()
    dispatcher.event_waker = flag.set
    _kbd_intr(-1)
    pump = asyncio.create_task(_pump_events(dispatcher, writer, lock, flag))
    reason = HANGUP
    try:
        # a bare delimiter first: whatever the host's decoder holds (a boot banner) ends
        await _send(writer, lock, b"\x00")
        last_ms = clock.ticks_ms()
        while True:
            try:
                # a whole chunk could take the host's next bytes along with a break-in
                # (mpremote sends CR Ctrl-A right after it): they would be lost to the REPL
                n = await reader.readinto(one if dec.at_break() else rx)
            except OSError as exc:
                if exc.args and exc.args[0] == _EIO:
                    break  # the host side of the pty closed
                raise
            if n is None:
                continue  # spurious wake-up of a non-blocking read
            if n == 0:
                break  # end of file
            now_ms = clock.ticks_ms()
            if clock.ticks_diff(now_ms, last_ms) > _IDLE_RESET_MS:
                dispatcher.reset_input()
            last_ms = now_ms
            pos = 0
            while pos < n:
                pos = dispatcher.receive(rx, pos, n)
                out = dispatcher.response
                if out is not None:
                    await _send(writer, lock, out)
                if dispatcher.leave:
                    break
            if dispatcher.leave:
                reason = REPL if dispatcher.leave == dispatch.LEAVE_REPL else BREAK
                break
    finally:
        pump.cancel()
        dispatcher.event_waker = None
        _kbd_intr(3)
    if reason != HANGUP:
        repl = getattr(dispatcher.services, "repl", None)
        if repl is not None:
            repl()
    return reason
