"""A fake watch: what anyone could build with a BLE dev board to fool a repcue host.

A Bumble peripheral on the virtual radio that advertises a paired device's name and the
repcue service, with or without a Device Information serial number, and serves whatever
frames it gets in PLAIN records from a Dispatcher whose services forge a session (id
900000). It cannot answer a CHALLENGE (it lacks the key), so it sends noise; a PROOF it
"accepts" with AUTH_OK. Everything it is sent is kept, to show what a host gave away.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from bumble import gatt
from bumble.core import UUID
from bumble.device import AdvertisingType, Connection, Device

from repcue.link.ble import records as rec
from repcue.sim.ble.radio import VirtualRadio
from repcue_fw.link.dispatch import Dispatcher
from repcue_fw.wire import air
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import records
from tests.vm.feed import feed

FORGED_ID = 900_000


def forged_session() -> bytes:
    step = records.StoredStep(0, 1, records.END_TIME, 60, 60_000)
    session = records.StoredSession(
        FORGED_ID, 0x1234, 1_700_000_000, 0, [step], records.END_FINISHED, 60_000
    )
    return records.encode_session(session)


class ForgingServices:
    """Answers as a device would, with one forged session; notes every write."""

    def __init__(self, name: str, device_id: bytes) -> None:
        self.name = name
        self.device_id = device_id
        self.session = forged_session()
        self.acked: list[int] = []
        self.uploads = 0

    def info(self) -> dict[str, Any]:
        return {"device_id": self.device_id, "name": self.name, "firmware": "0.1.0"}

    def list_sessions(self, after_id: int, max_n: int) -> list[tuple[int, int, bool]]:
        return [(FORGED_ID, len(self.session), True)][:max_n] if after_id < FORGED_ID else []

    def read_session(self, session_id: int, offset: int, n: int) -> bytes:
        return self.session[offset : offset + n]

    def ack_sessions(self, ids: list[int]) -> None:
        self.acked.extend(ids)

    def set_time(self, epoch_s: int, ms: int = 0) -> int:
        return 0

    def program_begin(self, total_len: int, crc: int) -> int:
        self.uploads += 1
        return 0


class Impostor:
    """See the module docstring. `frames` lists the opcodes of every frame received."""

    def __init__(self, radio: VirtualRadio, name: str, *, serial: str | None) -> None:
        self.radio = radio
        self.name = name
        self.serial = serial
        device_id = bytes.fromhex(serial) if serial else b"\x66\x66"
        self.services = ForgingServices(name, device_id)
        self.dispatcher = Dispatcher(self.services)
        self.frames: list[int] = []
        self.records: list[int] = []
        self._parser = rec.RecordParser()
        self._device: Device | None = None
        self._tx: gatt.Characteristic[Any] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Impostor:
        device = self.radio.new_device(self.name)
        rx: gatt.Characteristic[Any] = gatt.Characteristic(
            UUID(air.RX_UUID),
            gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(write=self._on_write),
        )
        self._tx = gatt.Characteristic(
            UUID(air.TX_UUID),
            gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.READABLE,
            b"",
        )
        dis = [(0x2A29, b"repcue"), (0x2A24, b"sim"), (0x2A26, b"0.1.0")]
        if self.serial is not None:
            dis.append((0x2A25, self.serial.encode()))
        device.add_services(
            [
                gatt.Service(UUID(air.SERVICE_UUID), [rx, self._tx]),
                gatt.Service(
                    UUID.from_16_bits(air.DIS_UUID),
                    [
                        gatt.Characteristic(
                            UUID.from_16_bits(uuid),
                            gatt.Characteristic.Properties.READ,
                            gatt.Characteristic.READABLE,
                            value,
                        )
                        for uuid, value in dis
                    ],
                ),
            ]
        )
        await device.power_on()
        adv, resp = air.adv_payloads(self.name)
        await device.start_advertising(
            advertising_type=AdvertisingType.UNDIRECTED_CONNECTABLE_SCANNABLE,
            auto_restart=True,  # back on the air after each victim leaves
            advertising_data=adv,
            scan_response_data=resp,
            advertising_interval_min=20,
            advertising_interval_max=20,
        )
        self._device = device
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._device is not None:
            await self.radio.remove_device(self._device)
            self._device = None

    def _on_write(self, connection: Connection, value: bytes) -> None:
        for record in self._parser.feed(bytes(value)):
            self.records.append(record.type)
            if record.type == air.REC_PLAIN:
                out = self._serve(record.body)
                if out:
                    self._notify(connection, rec.encode(air.REC_PLAIN, out))
            elif record.type == air.REC_CHALLENGE:
                noise = os.urandom(air.NONCE_LEN + air.TAG_LEN)
                self._notify(connection, rec.encode(air.REC_CHALLENGE_RSP, noise))
            elif record.type == air.REC_PROOF:
                self._notify(connection, rec.encode(air.REC_AUTH_OK, b""))

    def _serve(self, data: bytes) -> bytes:
        for frame in wf.Decoder(wf.MAX_FRAME_LIMIT).feed(data):
            self.frames.append(frame.type)
        return b"".join(feed(self.dispatcher, data))

    def _notify(self, connection: Connection, data: bytes) -> None:
        async def send() -> None:
            assert self._device is not None and self._tx is not None
            step = connection.att_mtu - 3
            for pos in range(0, len(data), step):
                await self._device.notify_subscriber(connection, self._tx, data[pos : pos + step])

        task = asyncio.get_running_loop().create_task(send())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
