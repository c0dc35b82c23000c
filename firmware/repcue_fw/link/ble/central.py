# The central connected now, as the BLE link serves it: its record stream, the challenge /
# proof handshake, frames to the dispatcher, its deadlines, and refusing what breaks the
# rules (docs/security.md). The link (server.py) owns the radio and sends for it.
#
# Every frame, PLAIN or SECURE, goes to the one dispatcher, whose `authenticated` flag
# decides what it may run (HELLO only until AUTH_OK): the bytes that were checked are the
# bytes that run, whatever way a central splits them over records.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


from repcue_fw.link.ble.secure import Session
from repcue_fw.wire import air

_PER_CONN = const(3)  # refusals one connection may collect before it is dropped
_DEFAULT_MTU = const(23)


class Central:
    def __init__(self, link, conn, now_ms):
        self.link = link
        self.conn = conn
        self.mtu = _DEFAULT_MTU
        self.session = Session()
        self.since_ms = now_ms  # when it connected
        self.challenge_ms = 0  # when it sent its CHALLENGE
        self.closing = False  # dropped: ignored until its disconnect IRQ

    # -- deadlines and the slot ------------------------------------------------------------
    def overdue(self, now_ms):
        """Not authenticated in time: no CHALLENGE within the challenge deadline, or no
        PROOF within the proof deadline after it."""
        session = self.session
        if self.closing or session.authenticated:
            return False
        link = self.link
        diff = link.clock.ticks_diff
        if session.challenged:
            return diff(now_ms, self.challenge_ms) > link.proof_deadline_ms
        return diff(now_ms, self.since_ms) > link.challenge_deadline_ms

    def replaceable(self, now_ms):
        """It has not even begun to authenticate in its grace time: a newcomer may have
        the slot."""
        session = self.session
        if self.closing or session.authenticated or session.challenged:
            return False
        return self.link.clock.ticks_diff(now_ms, self.since_ms) >= self.link.grace_ms

    # -- records in ---------------------------------------------------------------------------
    async def on_bytes(self, data):
        reader = self.link.reader
        pos = 0
        n = len(data)
        while pos < n and not self.closing:
            pos = reader.push(data, pos, n)
            if reader.bad:
                await self.refuse(air.ERR_MALFORMED)
                return
            if reader.ready:
                await self._on_record(reader.type, reader.BODY, reader.BODY + reader.length)

    async def _on_record(self, rtype, start, end):
        session = self.session
        buf = self.link.reader.buf
        if rtype == air.REC_SECURE:
            if not session.authenticated:
                await self.fail(air.ERR_AUTH_REQUIRED, False)
                return
            ok, code = session.open(buf, start, end, air.DIR_HOST)
            if not ok:
                await self.fail(code, True)
                return
            await self._dispatch(buf, start + air.CTR_LEN, end - air.MAC_LEN, True)
        elif rtype == air.REC_PLAIN:
            if session.authenticated:
                await self.fail(air.ERR_BAD_MAC, True)  # a MAC-stripped frame
                return
            await self._dispatch(buf, start, end, False)
        elif rtype == air.REC_CHALLENGE:
            await self._challenge(buf, start, end)
        elif rtype == air.REC_PROOF:
            await self._proof(buf, start, end)
        else:
            await self.fail(air.ERR_MALFORMED, True)

    async def _challenge(self, buf, start, end):
        session = self.session
        link = self.link
        if link.key is None:
            await self.fail(air.ERR_NOT_PAIRED, False)
            return
        if session.authenticated or session.challenged or end - start != air.NONCE_LEN:
            # one challenge per connection: each answer is an HMAC under the key
            await self.fail(air.ERR_STATE, True)
            return
        session.challenged = True
        self.challenge_ms = link.clock.ticks_ms()
        nonce_dev = link.nonce()
        tag = session.challenge(link.key, memoryview(buf)[start:end], nonce_dev)
        await link.send_record(self, air.REC_CHALLENGE_RSP, nonce_dev + tag)

    async def _proof(self, buf, start, end):
        session = self.session
        link = self.link
        if session.authenticated or session.nonce_dev is None:
            await self.fail(air.ERR_STATE, False)
            return
        key = link.key
        if key is None:  # unpaired over USB between the challenge and this proof
            session.nonce_dev = None
            await self.fail(air.ERR_NOT_PAIRED, True)
            return
        if not session.prove(key, memoryview(buf)[start:end]):
            # one guess per connection: a wrong proof ends it
            link.auth_failures += 1
            await self.fail(air.ERR_BAD_PROOF, True)
            return
        link.dispatcher.new_peer(True)  # nothing sent in plain carries over
        await link.send_record(self, air.REC_AUTH_OK, b"")
        link.update_advertising()  # the slot is taken for real now

    async def _dispatch(self, buf, pos, end, sealed):
        link = self.link
        d = link.dispatcher
        while pos < end and not self.closing:
            refused = d.refused
            pos = d.receive(buf, pos, end)
            d.leave = 0  # REPL and break-in mean nothing over the air
            if d.response is not None:
                if sealed:
                    await link.send_secure(self, d.response)
                else:
                    await link.send_record(self, air.REC_PLAIN, d.response)
            if d.refused != refused:
                await self.fail(0, False)  # answered ST_AUTH: counts toward the drop

    # -- refusing -------------------------------------------------------------------------------
    async def fail(self, code, fatal):
        """Refuse one record and count it; drop the connection when it was fatal or one
        refusal too many."""
        self.link.refused += 1
        session = self.session
        session.failures += 1
        if session.failures >= _PER_CONN:
            fatal = True
        if code:
            await self.link.send_record(self, air.REC_ERROR, air.error_body(code, 0, b""))
        if fatal:
            self.drop()

    async def refuse(self, code):
        """Say why (ERROR), then drop the connection."""
        self.link.refused += 1
        await self.link.send_record(self, air.REC_ERROR, air.error_body(code, 0, b""))
        self.drop()

    def drop(self):
        if not self.closing:
            self.closing = True
            self.link.disconnect(self.conn)
