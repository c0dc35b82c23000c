"""The Bluetooth LE transport (``ble:NAME``, ``ble:ADDRESS``, ``ble:auto``) on bleak.

Scans for our service UUID, connects, subscribes to TX and writes RX without response in
ATT_MTU-3 pieces. Frames travel in records (repcue.link.ble.records).

Which key: a target (name or address) that names a device in the key store must be that
device and must authenticate with its key, whatever the peripheral says of itself; a
Device Information serial that names another device is an impostor, refused before
anything is sent. Otherwise the serial number may name a paired device (renamed since).
With a key the transport authenticates first (the device proves it holds the key before
the host proves it does) and seals every frame. Without one the link is unauthenticated:
the transport sends nothing but HELLO (``authenticated`` is False), and the device would
serve nothing else.

The same code runs on bleak's platform backends (BlueZ, CoreBluetooth, WinRT) and on any
backend handed in (repcue.devices hands the virtual radio's when one runs). A dropped link
ends receive() and send() with DisconnectedError at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from repcue.errors import (
    AuthError,
    ConnectError,
    DeviceNotFoundError,
    DisconnectedError,
    ProtocolError,
    RepcueTimeoutError,
    TransportError,
)
from repcue.link.ble import records as rec
from repcue.link.ble.keys import KeyStore, PairedDevice
from repcue.link.ble.scan import BleBackend, default_backend, heard_nearby
from repcue.link.ble.stack import bluetooth_errors, hint_for
from repcue.link.transport import Inbox
from repcue_fw.wire import air

SERIAL_NUMBER_UUID = "00002a25-0000-1000-8000-00805f9b34fb"

_ADDRESS = re.compile(r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f-]{36}$")


class BleTransport:
    """One repcue device over BLE; see the module docstring."""

    def __init__(
        self,
        target: str,
        *,
        keys: KeyStore | None = None,
        backend: BleBackend | None = None,
        scan_timeout_s: float = 10.0,
        auto_window_s: float = 2.0,
        connect_timeout_s: float = 10.0,
        auth_timeout_s: float = 5.0,
        busy_wait_s: float = 10.0,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        if not target:
            raise TransportError("ble: needs a device name, an address or 'auto'")
        self.target = target
        self.keys = keys
        self._backend = backend  # chosen on first use: choosing may probe a socket
        self.scan_timeout_s = scan_timeout_s
        self.auto_window_s = auto_window_s
        self.connect_timeout_s = connect_timeout_s
        self.auth_timeout_s = auth_timeout_s
        self.busy_wait_s = busy_wait_s
        self.notice = notice  # told which device ble:auto chose, one line
        self.device_id = ""  # the paired device this link authenticated as ("" if none)
        self.address = ""
        self.name = ""
        self._client: BleakClient | None = None
        self._rx: BleakGATTCharacteristic | None = None
        self._inbox: Inbox | None = None
        self._parser = rec.RecordParser()
        self._session: rec.HostSession | None = None
        self._handshake: asyncio.Queue[rec.Record | None] | None = None
        self._refusal: rec.AuthError | None = None
        self._dropping: asyncio.Task[None] | None = None
        # statistics: protocol bytes handed to us vs record bytes written
        self.app_bytes_out = 0
        self.app_bytes_in = 0
        self.record_bytes_out = 0
        self.writes = 0
        self.capture: list[bytes] | None = None  # set to a list to keep every record written

    @property
    def description(self) -> str:
        return f"ble:{self.target}"

    @property
    def authenticated(self) -> bool:
        return self._session is not None and self._session.authenticated

    @property
    def backend(self) -> BleBackend:
        if self._backend is None:
            self._backend = default_backend()
        return self._backend

    @property
    def session(self) -> rec.HostSession | None:
        """The authenticated session's state (counters), None before authentication."""
        return self._session

    @property
    def mtu(self) -> int:
        return self._client.mtu_size if self._client is not None else 23

    # -- finding and connecting -------------------------------------------------------------
    async def _discover(self) -> BLEDevice:
        target = self.target
        args = self.backend.scanner_args()
        if target == "auto":
            try:  # names made whole from the scan responses: keys are found by name
                heard = await heard_nearby(self.auto_window_s, self.backend)
            except TransportError as err:
                raise TransportError(f"{self.description}: {err}") from err
            device, why = choose_auto([(h.name, h.device) for h in heard.values()], self.keys)
            if self.notice is not None:
                self.notice(f"ble:auto: using {device.name or device.address} ({why})")
            return device
        with bluetooth_errors(f"{self.description}: Bluetooth scan"):
            is_address = bool(_ADDRESS.match(target))
            found = await BleakScanner.find_device_by_filter(
                lambda d, ad: (
                    (d.address.upper() == target.upper())
                    if is_address
                    else (ad.local_name == target)
                ),
                timeout=self.scan_timeout_s,
                service_uuids=[air.SERVICE_UUID],
                **args,
            )
        if found is None:
            raise DeviceNotFoundError(
                f"no repcue device {target!r} found within {self.scan_timeout_s:g} s "
                "(is it on, in range, and not connected to another host?)"
            )
        return found

    async def open(self) -> None:
        """Find, connect, and authenticate when the device is paired here.

        A device whose connection slot someone else holds turns a newcomer away (or takes
        the slot from a central that has not authenticated in time): that link drops
        before we are in, and we try again for up to busy_wait_s. A refusal is final."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.busy_wait_s
        pause_s = 0.2
        while True:
            try:
                await self._open_once()
                return
            except (ConnectError, DisconnectedError, AuthError) as err:
                if not _turned_away(err) or loop.time() + pause_s > give_up:
                    raise
            await asyncio.sleep(pause_s)
            pause_s = min(pause_s * 2, 1.0)

    async def _open_once(self) -> None:
        inbox = self._inbox = Inbox(asyncio.get_running_loop(), self.description)
        self._parser = rec.RecordParser()
        self._session = None
        self._refusal = None
        self.device_id = ""
        device = await self._discover()
        client = BleakClient(
            device,
            # bound to this connection's inbox: a late callback of an earlier
            # connection must not end a newer one
            disconnected_callback=lambda _client: self._on_disconnected(inbox),
            timeout=self.connect_timeout_s,
            **self.backend.client_args(),
        )
        try:
            await client.connect()
        except (BleakError, TimeoutError, OSError) as err:
            if isinstance(err, (FileNotFoundError, PermissionError)):
                # no stack (or no right to use it), which no retry mends
                raise TransportError(f"{self.description}: {hint_for(err)}") from err
            raise ConnectError(f"{self.description}: cannot connect: {err}") from err
        self._client = client
        self.address = device.address
        self.name = device.name or self.target
        try:
            await self._setup(client)
        except BaseException:
            await self.close()
            raise

    async def _setup(self, client: BleakClient) -> None:
        services = client.services
        self._rx = services.get_characteristic(air.RX_UUID)
        tx = services.get_characteristic(air.TX_UUID)
        if self._rx is None or tx is None:
            raise ProtocolError(f"{self.description} has no repcue service")
        serial = ""
        try:
            await client.start_notify(tx, self._on_notify)
            char = services.get_characteristic(SERIAL_NUMBER_UUID)
            if char is not None:
                raw = bytes(await client.read_gatt_char(char))
                serial = raw.decode(errors="replace").strip().lower()
        except BleakError as err:
            if not client.is_connected:
                raise DisconnectedError(f"{self.description}: the device hung up") from err
            raise TransportError(f"{self.description}: {err}") from err
        entry = self._paired_entry(serial)
        if entry is None:
            return  # not paired here: HELLO only
        key = self.keys.get(entry.device_id) if self.keys is not None else None
        if key is None:
            return
        await self._authenticate(key)
        self.device_id = entry.device_id
        if self.keys is not None:
            self.keys.remember_address(entry.device_id, self.address)

    def _paired_entry(self, serial: str) -> PairedDevice | None:
        """The key-store entry this link must authenticate as, or None (unpaired).

        The target decides first: a name or address the key store knows must be that
        device, and a serial that names another one is refused as an impostor. Only a
        target the store does not know may be found by its serial."""
        keys = self.keys
        if keys is None:
            return None
        named = keys.find(
            name="" if _ADDRESS.match(self.target) or self.target == "auto" else self.target,
            address=self.target if _ADDRESS.match(self.target) else "",
        )
        if named is None and self.target == "auto":
            named = keys.find(name=self.name, address=self.address)
        if named is not None:
            if serial and serial != named.device_id:
                raise AuthError(
                    f"{self.description} answers as device {serial}, but {self.target} is "
                    f"paired here as device {named.device_id}: not the paired device "
                    "(an impostor, or another device given its name); nothing was sent",
                    code=air.ERR_BAD_PROOF,
                )
            return named
        return keys.paired(serial) if serial else None

    async def _authenticate(self, key: bytes) -> None:
        session = rec.HostSession(key)
        self._handshake = asyncio.Queue()
        try:
            await self._write(session.challenge())
            answer = await self._next_handshake(air.REC_CHALLENGE_RSP)
            await self._write(session.proof(answer.body))
            await self._next_handshake(air.REC_AUTH_OK)
            session.accept()
            self._session = session
        finally:
            self._handshake = None

    async def _next_handshake(self, want: int) -> rec.Record:
        queue = self._handshake
        assert queue is not None
        try:
            record = await asyncio.wait_for(queue.get(), self.auth_timeout_s)
        except TimeoutError as err:
            raise RepcueTimeoutError(
                f"{self.description}: no answer to the authentication in {self.auth_timeout_s} s"
            ) from err
        if record is None:
            if self._refusal is not None:
                raise self._refusal
            raise DisconnectedError(f"{self.description}: link lost during authentication")
        if record.type == air.REC_ERROR:
            raise rec.auth_error(record.body, self.description)
        if record.type != want:
            raise ProtocolError(f"{self.description}: unexpected record {record.type} in handshake")
        return record

    # -- bytes in ---------------------------------------------------------------------------
    def _on_notify(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        inbox = self._inbox
        if inbox is None or inbox.closed:
            return
        try:
            for record in self._parser.feed(bytes(data)):
                self._on_record(record, inbox)
        except ProtocolError as err:
            inbox.close(err)
            self._drop()

    def _on_record(self, record: rec.Record, inbox: Inbox) -> None:
        if self._handshake is not None and record.type in (
            air.REC_CHALLENGE_RSP,
            air.REC_AUTH_OK,
            air.REC_ERROR,
        ):
            self._handshake.put_nowait(record)
            return
        session = self._session
        if record.type == air.REC_ERROR:
            # the device refused something; it hangs up next: say why
            self._refusal = rec.auth_error(record.body, self.description)
            inbox.close(self._refusal)
        elif record.type == air.REC_SECURE and session is not None and session.authenticated:
            data = session.open(record.body)
            self.app_bytes_in += len(data)
            inbox.put(data)
        elif record.type == air.REC_PLAIN and session is None:
            self.app_bytes_in += len(record.body)
            inbox.put(record.body)
        else:
            raise ProtocolError(f"{self.description}: record type {record.type} out of place")

    def _on_disconnected(self, inbox: Inbox) -> None:
        if inbox is not self._inbox:
            return
        if self._handshake is not None:
            self._handshake.put_nowait(None)
        inbox.close(self._refusal or ConnectionAbortedError("the device disconnected"))

    def _drop(self) -> None:
        client = self._client
        if client is not None:
            self._dropping = asyncio.get_running_loop().create_task(client.disconnect())

    async def receive(self) -> bytes:
        if self._inbox is None:
            raise DisconnectedError(f"{self.description}: not connected")
        return await self._inbox.get()

    # -- bytes out --------------------------------------------------------------------------
    async def send(self, data: bytes) -> None:
        if self._inbox is None or self._inbox.closed or self._client is None:
            raise DisconnectedError(f"{self.description}: not connected")
        session = self._session
        if session is not None and session.authenticated:
            record = session.seal(data)
        else:
            rec.check_plain(data, self.description)
            record = rec.encode(air.REC_PLAIN, data)
        self.app_bytes_out += len(data)
        await self._write(record)

    async def send_raw(self, record: bytes) -> None:
        """Write record bytes exactly as given (for tests of what the device refuses)."""
        await self._write(record)

    async def _write(self, record: bytes) -> None:
        client, rx = self._client, self._rx
        if client is None or rx is None or not client.is_connected:
            raise DisconnectedError(f"{self.description}: not connected")
        step = rx.max_write_without_response_size
        try:
            for pos in range(0, len(record), step):
                await client.write_gatt_char(rx, record[pos : pos + step], response=False)
                self.writes += 1
        except BleakError as err:
            if not client.is_connected:
                raise DisconnectedError(f"{self.description}: link lost while writing") from err
            raise TransportError(f"{self.description}: write failed: {err}") from err
        self.record_bytes_out += len(record)
        if self.capture is not None:
            self.capture.append(record)

    async def close(self) -> None:
        client = self._client
        self._client = None
        if client is not None:
            with contextlib.suppress(BleakError, TimeoutError, OSError):
                await client.disconnect()
        if self._inbox is not None:
            self._inbox.close(ConnectionAbortedError("closed by the host"))


def choose_auto(heard: list[tuple[str, BLEDevice]], keys: KeyStore | None) -> tuple[BLEDevice, str]:
    """ble:auto's device among those heard (name, device), and why: a paired device first
    (the one paired here; several paired is a question only the user can answer), else the
    one device heard if there is only one."""
    paired = [
        (name, d)
        for name, d in heard
        if keys is not None and keys.find(name=name, address=d.address)
    ]
    names = ", ".join(sorted(name or d.address for name, d in paired or heard))
    if len(paired) == 1:
        return paired[0][1], "paired"
    if paired:
        raise DeviceNotFoundError(
            f"ble:auto: several paired repcue devices nearby ({names}): pick one with ble:NAME"
        )
    if len(heard) == 1:
        return heard[0][1], "not paired here: the only repcue device nearby"
    if not heard:
        raise DeviceNotFoundError("ble:auto: no repcue device is advertising nearby")
    raise DeviceNotFoundError(
        f"ble:auto: several repcue devices nearby ({names}), none paired here: pick one with "
        "ble:NAME"
    )


def _turned_away(err: BaseException) -> bool:
    """A link the device dropped for want of a free slot, not for anything we did."""
    if isinstance(err, AuthError):
        return err.code in (air.ERR_REPLACED, air.ERR_TIMEOUT)
    if isinstance(err, ConnectError):
        return True
    cause = err.__cause__
    while cause is not None:
        if isinstance(cause, AuthError):
            return _turned_away(cause)
        cause = cause.__cause__
    return isinstance(err, DisconnectedError)
