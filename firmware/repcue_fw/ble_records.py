# Records in, for the BLE link (ble_link.py mixes this into BleLink): the record types a
# central sends (ble_secure.py), the challenge/proof handshake, HELLO-only service before
# authentication, sealed frames to the dispatcher after it, and refusing what breaks the
# rules (counted; repeated failures drop the central and feed the lock-out guard).
#
# Needs from BleLink: session, guard, dispatcher, conn, urandom, refused, _key, _reader,
# _pre, _closing, _err_raw, _err_tx, _send_record(), _send_secure() and _drop().
# The device-side wire modules: the host's frame.py and opcodes.py stay off a board.
from repcue_fw import ble_secure as sec
from repcue_fw.wire import frame_core as frame
from repcue_fw.wire import opcodes_core as op


class RecordsIn:
    async def _on_bytes(self, data):
        reader = self._reader
        pos = 0
        n = len(data)
        while pos < n and self.conn >= 0 and not self._closing:
            pos = reader.push(data, pos, n)
            if reader.bad:
                await self._refuse(sec.ERR_MALFORMED, 0, True)
                return
            if reader.ready:
                await self._on_record(reader.type, reader.BODY, reader.BODY + reader.length)

    async def _on_record(self, rtype, start, end):
        session = self.session
        buf = self._reader.buf
        if rtype == sec.REC_SECURE:
            if not session.authenticated:
                await self._fail(sec.ERR_AUTH_REQUIRED, False)
                return
            ok, code = session.open(buf, start, end, sec.DIR_HOST)
            if not ok:
                await self._fail(code, True, True)
                return
            await self._dispatch(buf, start + sec.CTR_LEN, end - sec.MAC_LEN)
        elif rtype == sec.REC_PLAIN:
            if session.authenticated:
                await self._fail(sec.ERR_BAD_MAC, True, True)  # a MAC-stripped frame
                return
            await self._plain(buf, start, end)
        elif rtype == sec.REC_CHALLENGE:
            await self._challenge(buf, start, end)
        elif rtype == sec.REC_PROOF:
            if session.authenticated or session.nonce_dev is None:
                await self._fail(sec.ERR_STATE, False)
                return
            if not session.prove(self._key, memoryview(buf)[start:end]):
                self.guard.fail()
                await self._fail(sec.ERR_BAD_PROOF, False)
                return
            self.guard.succeed()
            await self._send_record(sec.REC_AUTH_OK, b"")
        else:
            await self._fail(sec.ERR_MALFORMED, True, True)

    async def _challenge(self, buf, start, end):
        session = self.session
        if self._key is None:
            await self._fail(sec.ERR_NOT_PAIRED, False)
            return
        left = self.guard.remaining_ms()
        if left:
            await self._refuse(sec.ERR_LOCKED, left, True)
            return
        if session.authenticated or end - start != sec.NONCE_LEN:
            await self._fail(sec.ERR_STATE, False)
            return
        nonce_dev = self.urandom(sec.NONCE_LEN)
        tag = session.challenge(self._key, memoryview(buf)[start:end], nonce_dev)
        await self._send_record(sec.REC_CHALLENGE_RSP, nonce_dev + tag)

    async def _plain(self, buf, start, end):
        # before authentication only HELLO reaches the dispatcher; the rest is refused
        pre = self._pre
        pos = start
        while pos < end and self.conn >= 0:
            begin = pos
            pos, result = pre.push(buf, pos, end)
            if result == frame.FRAME and pre.type == op.OP_HELLO and not pre.flags:
                await self._dispatch_plain(buf, begin, pos)
            elif result == frame.FRAME or (result == frame.OVERSIZE and pre.seq >= 0):
                out = self._auth_error(pre.type, pre.seq)
                await self._send_record(sec.REC_PLAIN, out)
                await self._fail(0, False)

    def _auth_error(self, ftype, seq):
        raw = self._err_raw
        msg = "pair over USB first" if self._key is None else "authenticate first"
        end = op.put_error(raw, frame.HEADER_LEN, op.ST_AUTH, 0, msg)
        frame.put_header(raw, ftype & 0xFF, frame.FLAG_RESPONSE, seq)
        n = frame.seal_into(raw, end, self._err_tx)
        return memoryview(self._err_tx)[:n]

    async def _dispatch_plain(self, buf, pos, end):
        d = self.dispatcher
        while pos < end and self.conn >= 0:
            pos = d.receive(buf, pos, end)
            d.leave = 0  # REPL and break-in mean nothing over the air
            if d.response is not None:
                await self._send_record(sec.REC_PLAIN, d.response)

    async def _dispatch(self, buf, pos, end):
        d = self.dispatcher
        while pos < end and self.conn >= 0:
            pos = d.receive(buf, pos, end)
            d.leave = 0
            if d.response is not None:
                await self._send_secure(d.response)

    async def _fail(self, code, fatal, counts=False):
        """Refuse one record; count it; drop the connection when it was fatal or one too
        many. `counts` adds it to the guard's streak (MAC failures look like an attack)."""
        session = self.session
        self.refused += 1
        if counts:
            self.guard.fail()
        if session is not None:
            session.failures += 1
            if session.failures >= self.guard.per_conn:
                fatal = True
        if code:
            await self._send_record(sec.REC_ERROR, sec.error_body(code, 0, b""))
        if fatal:
            self._drop()

    async def _refuse(self, code, detail, drop):
        self.refused += 1
        await self._send_record(sec.REC_ERROR, sec.error_body(code, detail, b""))
        if drop:
            self._drop()

    def _drop(self):
        if self.conn >= 0 and not self._closing:
            self._closing = True  # ignore the central until its disconnect IRQ
            try:
                self.ble.gap_disconnect(self.conn)
            except OSError:
                pass
