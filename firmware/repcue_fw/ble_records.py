# Records in, for the BLE link (ble_link.py mixes this into BleLink): the record types a
# central sends (ble_secure.py), the challenge/proof handshake, frames to the dispatcher,
# and refusing what breaks the rules (counted; repeated failures drop the central).
#
# Every frame, PLAIN or SECURE, goes to the one dispatcher, whose `authenticated` flag
# decides what it may run (HELLO only until AUTH_OK): the bytes that were checked are the
# bytes that run, whatever way a central splits them over records.
#
# Needs from BleLink: session, dispatcher, conn, clock, refused, auth_failures, _key,
# _reader, _closing, _challenge_ms, _nonce(), _send_record(), _send_secure(), _disconnect()
# and _update_advertising().
from repcue_fw import ble_secure as sec

_PER_CONN = 3  # refusals one connection may collect before it is dropped


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
                await self._fail(code, True)
                return
            await self._dispatch(buf, start + sec.CTR_LEN, end - sec.MAC_LEN, True)
        elif rtype == sec.REC_PLAIN:
            if session.authenticated:
                await self._fail(sec.ERR_BAD_MAC, True)  # a MAC-stripped frame
                return
            await self._dispatch(buf, start, end, False)
        elif rtype == sec.REC_CHALLENGE:
            await self._challenge(buf, start, end)
        elif rtype == sec.REC_PROOF:
            await self._proof(buf, start, end)
        else:
            await self._fail(sec.ERR_MALFORMED, True)

    async def _challenge(self, buf, start, end):
        session = self.session
        if self._key is None:
            await self._fail(sec.ERR_NOT_PAIRED, False)
            return
        if session.authenticated or session.challenged or end - start != sec.NONCE_LEN:
            # one challenge per connection: each answer is an HMAC under the key
            await self._fail(sec.ERR_STATE, True)
            return
        session.challenged = True
        self._challenge_ms = self.clock.ticks_ms()
        nonce_dev = self._nonce()
        tag = session.challenge(self._key, memoryview(buf)[start:end], nonce_dev)
        await self._send_record(sec.REC_CHALLENGE_RSP, nonce_dev + tag)

    async def _proof(self, buf, start, end):
        session = self.session
        if session.authenticated or session.nonce_dev is None:
            await self._fail(sec.ERR_STATE, False)
            return
        key = self._key
        if key is None:  # unpaired over USB between the challenge and this proof
            session.nonce_dev = None
            await self._fail(sec.ERR_NOT_PAIRED, True)
            return
        if not session.prove(key, memoryview(buf)[start:end]):
            # one guess per connection: a wrong proof ends it
            self.auth_failures += 1
            await self._fail(sec.ERR_BAD_PROOF, True)
            return
        self.dispatcher.new_peer(True)  # nothing sent in plain carries over
        await self._send_record(sec.REC_AUTH_OK, b"")
        self._update_advertising()  # the slot is taken for real now

    async def _dispatch(self, buf, pos, end, sealed):
        d = self.dispatcher
        while pos < end and self.conn >= 0 and not self._closing:
            refused = d.refused
            pos = d.receive(buf, pos, end)
            d.leave = 0  # REPL and break-in mean nothing over the air
            if d.response is not None:
                if sealed:
                    await self._send_secure(d.response)
                else:
                    await self._send_record(sec.REC_PLAIN, d.response)
            if d.refused != refused:
                await self._fail(0, False)  # answered ST_AUTH: counts toward the drop

    async def _fail(self, code, fatal):
        """Refuse one record and count it; drop the connection when it was fatal or one
        refusal too many."""
        session = self.session
        self.refused += 1
        if session is not None:
            session.failures += 1
            if session.failures >= _PER_CONN:
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
            self._disconnect(self.conn)
