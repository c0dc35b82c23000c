# The protocol dispatcher: bytes in, encoded responses out. Knows no stream, no asyncio.
#
# link/serial.py (USB serial) and link/ble/server.py feed it whatever bytes arrive:
#
#     pos = 0
#     while pos < n:
#         pos = dispatcher.receive(buf, pos, n)    # stops after each complete frame
#         if dispatcher.response is not None:
#             write(dispatcher.response)           # memoryview into a preallocated buffer
#
# One frame in gives at most one response out. A repeated request (same seq and CRC as the
# last one that ran: the host retrying after a lost response) gets the cached response
# again, not a second run; a refused request (unknown, malformed, too big) leaves the
# cache. Bad CRC/COBS frames are dropped (the host retries); oversized, unknown,
# malformed or wrong-version frames get an error response.
#
# The `services` object (app.App) provides the work. Each method may raise
# opcodes.StatusError(status, message, detail) to answer with an error; other exceptions
# are mapped too (OSError -> ST_STORAGE or ST_STORAGE_FULL on ENOSPC, MemoryError ->
# ST_NO_MEMORY, KeyError -> ST_NOT_FOUND, anything with an int `status` attribute (the
# journal's errors) -> that status, else ST_INTERNAL). A method the object lacks answers
# ST_UNSUPPORTED.
#
#   info() -> dict with keys (all optional): device_id (bytes), name, board, firmware
#       (str), caps (CAP_* bits the app offers; the link adds CAP_EVENTS and CAP_REPL),
#       free_heap, free_flash, clock_s (wall clock, Unix s, 0 = unset), program_id
#       (installed program's id, 0 = none), running (bool)
#   set_time(epoch_s, ms) -> the previous wall clock in s (or None); ms 0..999
#   program_begin(total_len, program_id) -> offset to resume from (0 = start over)
#   program_chunk(offset, data) -> bytes held so far; data is a memoryview valid only
#       during the call (copy it)
#   program_commit(program_id) -> program_id; installs atomically. link/upload.py's
#       ProgramUpload implements all three over an install(data) callback.
#   start() -> session_id (or None); start(unix_s, ms) -> 0: a start scheduled at that
#       wall-clock instant;  stop() -> None, or StatusError(ST_NOT_RUNNING)
#   press(button) -> bool: BTN_PAUSE, BTN_LAP or BTN_SKIP pressed now; True if it did something
#   list_sessions(after_id, max_n) -> list of (session_id, size_bytes, flags), flags as
#       on the wire (bit0 complete, bit1 acknowledged; a bool means complete alone), the
#       first max_n sessions with an id above after_id in id order
#   read_session_into(session_id, offset, buf) -> count read into the memoryview buf
#       (0 past the end): a read fills the response frame, no bytes object each time
#   ack_sessions(ids) -> None   (ids: list of int; the host has stored them)
#   config_get() -> dict {cue_strength: 0-100, countdown_s: 0-15, buttons: bytes}
#   config_set(changes) -> the whole config dict after applying `changes` (same keys)
#   repl() -> None: called by the link AFTER the REPL response went out; leave protocol
#       mode (restore Ctrl-C, hand the port back)
#   pair(key) -> True when stored, False while the device waits for a button press that
#       accepts it (boards configured with "pair_confirm");  unpair() -> True if one was
#       deleted. The BLE link's dispatcher gets link/ble/server.py's AirServices, which
#       offers only the services a central may use (not these, nor repl).
#
# Authentication: `authenticated` is True on a cable (serial). The BLE link clears it for
# each new central until that central has proven it holds the pairing key; meanwhile the
# dispatcher itself answers every request but HELLO with ST_AUTH (counted in `refused`),
# and HELLO tells only what a host needs to authenticate. The check sits here, on the very
# frame that would run, so no filter in front of it can disagree with what executes.
#
# Events: the app registers dispatcher.post_event as an engine listener (code, a, b);
# while a host is subscribed they queue in a fixed ring and the link sends them.
# Tests feed bytes with tests/vm/feed.py.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


from repcue_fw import unload
from repcue_fw.ring import Ring
from repcue_fw.wire import WireError, frame
from repcue_fw.wire import events as ev
from repcue_fw.wire import opcodes as op

LEAVE_REPL = const(1)  # the host sent REPL
_LEAVE_BREAK = const(2)  # the break-in bytes (CR, Ctrl-C) arrived
_LINK_CAPS = const(0x0011)  # CAP_EVENTS | CAP_REPL: what the dispatcher itself offers
BODY = const(6)  # header + status: where a response's fields start
_EV_RAW = const(18)  # header + event + CRC
_ERR_RAW = const(79)  # header + error fields + longest message + CRC
_ENOSPC = const(28)
_IN_HEADER = const(0xFFFFFFFF)  # ST_BAD_REQUEST detail when the frame header is at fault
_BTN_PAUSE = const(2)  # PRESS takes these (wire/events.py BTN_*): START, STOP have their own ops
_BTN_SKIP = const(4)


def _status(exc):
    """Any exception a service (or a request decoder) raised -> StatusError."""
    if isinstance(exc, op.StatusError):
        return exc
    if isinstance(exc, WireError):
        return op.StatusError(op.ST_BAD_REQUEST, exc.message, 0)
    if isinstance(exc, MemoryError):
        return op.StatusError(op.ST_NO_MEMORY, "out of memory", 0)
    status = getattr(exc, "status", None)
    if isinstance(status, int) and 0 < status < 256:
        return op.StatusError(status, str(exc), getattr(exc, "detail", 0))
    if isinstance(exc, OSError):
        errno = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        code = op.ST_STORAGE_FULL if errno == _ENOSPC else op.ST_STORAGE
        return op.StatusError(code, "storage: " + str(exc), errno)
    if isinstance(exc, KeyError):
        return op.StatusError(op.ST_NOT_FOUND, "not found: " + str(exc), 0)
    return op.StatusError(op.ST_INTERNAL, type(exc).__name__ + ": " + str(exc), 0)


class Dispatcher:
    """Decodes requests, calls the services, encodes responses; all buffers made once."""

    def __init__(self, services, max_frame=frame.DEFAULT_MAX_FRAME, event_slots=16):
        frame.check_max_frame(max_frame)
        self.services = services
        self.max_frame = max_frame
        self.peer_max = frame.MIN_FRAME  # until a HELLO says how much the host takes
        # Two frame buffers, not three: a response is COBS-encoded into the decoder's buffer
        # (the request there has been handled by then, and the link sends or copies a
        # response before its next receive), and the last response stays unencoded in raw,
        # the replay cache: a retransmitted request gets it encoded again.
        self.decoder = frame.Decoder(max_frame, room=frame.encoded_size(max_frame))
        self.raw = bytearray(max_frame)  # the response being built (header..CRC)
        self.raw_mv = memoryview(self.raw)
        self._raw_len = 0  # the cached response's length in raw, CRC included
        self._tx = self.decoder.buf
        self._tx_mv = self.decoder.mv
        self._last_seq = -1
        self._last_crc = 0
        self.response = None
        self.leave = 0
        self.authenticated = True  # see the header: the BLE link clears it per central
        self.refused = 0  # requests answered ST_AUTH
        self.subscribed = False
        self.event_waker = None  # set by the link: called when an event is queued
        self.waker = None  # set by the app: called on bytes in and a new peer (a wake source)
        self.events = Ring(event_slots, 4)  # code, a, b, seq; events.dropped: lost ones
        self._ev_seq = 0
        self._ev_raw = bytearray(_EV_RAW)
        self._ev_tx = bytearray(frame.encoded_size(_EV_RAW))
        self._ev_mv = memoryview(self._ev_tx)
        self._err_raw = bytearray(_ERR_RAW)
        self._err_tx = bytearray(frame.encoded_size(_ERR_RAW))
        self.requests = 0  # statistics
        self.replays = 0
        self.errors = 0

    def limit(self):
        """Largest frame (header..CRC) a response may be: the negotiated maximum, less CRC."""
        peer = self.peer_max
        return (peer if peer < self.max_frame else self.max_frame) - frame.CRC_LEN

    def reset_input(self):
        """Drop a partial frame, e.g. after the line was idle mid-frame."""
        self.decoder.reset()

    def new_peer(self, authenticated):
        """Another host is on this link now: nothing of the last one's carries over (no
        partial frame, no replay cache, no subscription, the minimum frame size)."""
        self.decoder.reset()
        self._last_seq = -1
        self.subscribed = False
        self.events.clear()
        self.peer_max = frame.MIN_FRAME
        self.authenticated = authenticated
        if self.waker is not None:
            self.waker()

    def receive(self, data, pos, end):
        """Consume data[pos:end] up to one complete frame; return the new position.

        Afterwards self.response is the encoded reply (a memoryview, valid until the
        next receive) or None. data must be bytes or bytearray.
        """
        self.response = None
        if self.waker is not None:
            self.waker()
        pos, result = self.decoder.push(data, pos, end)
        if result == frame.FRAME:
            self.response = self._on_frame()
        elif result == frame.OVERSIZE:
            dec = self.decoder
            if dec.seq >= 0:
                self.response = self._too_big(dec.type, dec.seq)
        elif result == frame.BREAK:
            self.leave = _LEAVE_BREAK
        return pos

    def _on_frame(self):
        dec = self.decoder
        seq = dec.seq
        if dec.version != frame.PROTOCOL_VERSION:
            return self._error(
                dec.type, seq, op.ST_VERSION, frame.PROTOCOL_VERSION, "unsupported version"
            )
        if dec.flags:  # detail: not a payload offset, the header is at fault
            return self._error(dec.type, seq, op.ST_BAD_REQUEST, _IN_HEADER, "not a request")
        if not self.authenticated and dec.type != op.OP_HELLO:
            # before the replay cache too: a stranger must not get a cached answer either
            self.refused += 1
            return self._error(dec.type, seq, op.ST_AUTH, 0, "authenticate first")
        if seq == self._last_seq and dec.crc == self._last_crc and dec.type != op.OP_HELLO:
            self.replays += 1
            return self._tx_mv[: frame.cobs_encode_into(self.raw, self._raw_len, self._tx, 0)]
        if dec.payload_end() > self.limit():  # the negotiated limit binds requests too
            return self._too_big(dec.type, seq)
        self.requests += 1
        raw = self.raw
        try:
            try:
                end = self._handle(dec.type, dec.buf, frame.HEADER_LEN, dec.payload_end())
            except WireError as exc:
                # a request decoder's: its offset is into the frame buffer
                off = exc.offset - frame.HEADER_LEN if exc.offset >= frame.HEADER_LEN else 0
                raise op.StatusError(op.ST_BAD_REQUEST, exc.message, off)
            raw[frame.HEADER_LEN] = op.ST_OK
        except Exception as exc:  # a service's failure is an answer, never a crash
            err = _status(exc)
            if err.status <= op.ST_TOO_BIG:
                # unknown, malformed or too big: it did not run, so the replay cache stays
                # the last request that did (a retransmission of that one must not run again)
                return self._error(dec.type, seq, err.status, err.detail, err.message)
            self.errors += 1
            end = op.put_error(raw, frame.HEADER_LEN, err.status, err.detail, err.message)
        frame.put_header(raw, dec.type, frame.FLAG_RESPONSE, seq)
        n = frame.seal_into(raw, end, self._tx)
        self._raw_len = end + frame.CRC_LEN
        self._last_seq = seq
        self._last_crc = dec.crc
        return self._tx_mv[:n]

    def _error(self, ftype, seq, status, detail, message):
        # an answer to a frame we could not verify or accept: built in its own buffers so
        # the replay cache of the last real request survives
        self.errors += 1
        raw = self._err_raw
        end = op.put_error(raw, frame.HEADER_LEN, status, detail, message)
        frame.put_header(raw, ftype & 0xFF, frame.FLAG_RESPONSE, seq)
        n = frame.seal_into(raw, end, self._err_tx)
        return memoryview(self._err_tx)[:n]

    def _too_big(self, ftype, seq):
        lim = self.limit() + frame.CRC_LEN
        return self._error(ftype, seq, op.ST_TOO_BIG, lim, "frame above " + str(lim))

    def service(self, name):
        fn = getattr(self.services, name, None)
        if fn is None:
            raise op.StatusError(op.ST_UNSUPPORTED, "device has no " + name, 0)
        return fn

    def _handle(self, t, buf, pos, end):
        # One request: buf[pos:end] is its payload. Writes the response fields into
        # self.raw from BODY and returns where they end; raises StatusError/WireError.
        raw = self.raw
        if op.OP_LIST_SESSIONS <= t <= op.OP_READ_SESSIONS:
            from repcue_fw.link import sync  # dropped again when a session begins

            return sync.handle(self, t, buf, pos, end)
        if t == op.OP_PROGRAM_CHUNK:
            offset, at = op.get_program_chunk_req(buf, pos, end)
            held = self.service("program_chunk")(offset, self.decoder.mv[at:end])
            return op.put_u32(raw, BODY, held)
        if t == op.OP_HELLO:
            host_max = op.get_fixed(buf, pos, end, op.FMT_HELLO, "hello")[0]
            frame.check_max_frame(host_max)  # WireError -> ST_BAD_REQUEST at offset 0
            self.peer_max = host_max if host_max < self.max_frame else self.max_frame
            # a new host session: no subscription until it asks (HELLO itself is never
            # replayed, and its response replaces the replay cache)
            self.subscribed = False
            self.events.clear()
            return self._info()
        if t == op.OP_ECHO:
            n = end - pos
            if BODY + n > self.limit():  # the answer is one byte longer than the request
                raise op.StatusError(
                    op.ST_TOO_BIG, "echo does not fit", self.limit() + frame.CRC_LEN
                )
            raw[BODY : BODY + n] = self.decoder.mv[pos:end]
            return BODY + n
        if t == op.OP_SET_TIME:
            epoch_s, ms = op.get_instant(buf, pos, end, True)
            return op.put_u32(raw, BODY, self.service("set_time")(epoch_s, ms))
        if t == op.OP_START:
            start = self.service("start")
            sid = start() if pos == end else start(*op.get_instant(buf, pos, end, False))
            return op.put_u32(raw, BODY, sid)
        if t == op.OP_PRESS:
            button = op.get_fixed(buf, pos, end, "<B", "button")[0]
            if button < _BTN_PAUSE or button > _BTN_SKIP:
                raise WireError("button: pause, lap or skip (2..4)", pos, "button")
            raw[BODY] = 1 if self.service("press")(button) else 0
            return BODY + 1
        if t == op.OP_PROGRAM_COMMIT:
            crc = op.get_u32(buf, pos, end, "crc")
            return op.put_u32(raw, BODY, self.service("program_commit")(crc))
        if t == op.OP_PROGRAM_BEGIN:
            total_len, crc = op.get_fixed(buf, pos, end, op.FMT_PROGRAM_BEGIN, "program_begin")
            return op.put_u32(raw, BODY, self.service("program_begin")(total_len, crc))
        if t == op.OP_SUBSCRIBE:
            self.subscribed = op.get_subscribe_req(buf, pos, end)
            if not self.subscribed:
                self.events.clear()
            return BODY
        if t == op.OP_PAIR:
            raw[BODY] = 1 if self.service("pair")(op.get_pair_req(buf, pos, end)) else 0
            return BODY + 1
        if t == op.OP_CONFIG_SET:
            changes = op.get_config_set_req(buf, pos, end)
            return op.put_config(raw, BODY, self.service("config_set")(changes))
        if (
            t != op.OP_INFO
            and t != op.OP_STOP
            and t != op.OP_CONFIG_GET
            and t != op.OP_REPL
            and t != op.OP_UNPAIR
        ):
            raise op.StatusError(op.ST_UNKNOWN_OP, "unknown request", t)
        # the rest take no payload
        if pos != end:
            raise WireError("no payload expected", pos, "payload")
        if t == op.OP_INFO:
            return self._info()
        if t == op.OP_STOP:
            self.service("stop")()
            return BODY
        if t == op.OP_CONFIG_GET:
            return op.put_config(raw, BODY, self.service("config_get")())
        if t == op.OP_UNPAIR:
            raw[BODY] = 1 if self.service("unpair")() else 0
            return BODY + 1
        self.service("repl")  # OP_REPL: only where the services offer it (not over the air)
        self.leave = LEAVE_REPL  # the link leaves after this response is out
        return BODY

    def _info(self):
        info = self.service("info")()
        if not self.authenticated:
            # what a host needs to authenticate, and nothing a stranger could use
            info = {"name": info.get("name", ""), "firmware": info.get("firmware", "")}
        else:
            info["caps"] = info.get("caps", 0) | _LINK_CAPS
        return op.put_info(
            self.raw, BODY, frame.PROTOCOL_VERSION, self.peer_max, self.max_frame, info
        )

    # ---- events -------------------------------------------------------------------

    def post_event(self, code, a=0, b=0):
        """Engine listener: queue (code, a, b) for a subscribed host. Never blocks; a full
        ring drops the event (the host sees the gap in event seq numbers)."""
        if code == ev.EV_SESSION_START:
            unload("repcue_fw.link", "sync")  # a board does not hold it while it records
        if not self.subscribed:
            return
        self._ev_seq = (self._ev_seq + 1) & 0xFFFF
        if self.events.push(code, a, b, self._ev_seq):
            waker = self.event_waker
            if waker is not None:
                waker()

    def next_event(self):
        """The oldest queued event as an encoded frame (memoryview), or None."""
        i = self.events.pop()
        if i < 0:
            return None
        code, a, b, seq = self.events.cols
        raw = self._ev_raw
        frame.put_header(raw, op.OP_EVENT, frame.FLAG_EVENT, seq[i])
        op.put_event(raw, frame.HEADER_LEN, code[i], a[i], b[i])
        n = frame.seal_into(raw, frame.HEADER_LEN + op.EVENT_LEN, self._ev_tx)
        return self._ev_mv[:n]
