"""A stranger's central: plain bleak, writing whatever record bytes it likes."""

from __future__ import annotations

import asyncio
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic

from repcue.link.ble import records as rec
from repcue.sim.ble.bleak_backend import BumbleClient, BumbleScanner
from repcue.sim.ble.radio import CentralAdapter
from repcue_fw.wire import air
from repcue_fw.wire.host import frame as wf


class RawCentral:
    """Connects to a repcue device by name and speaks raw records to it."""

    def __init__(self, adapter: CentralAdapter) -> None:
        self.adapter = adapter
        self.client: BleakClient | None = None
        self.records: asyncio.Queue[rec.Record] = asyncio.Queue()
        self.gone = asyncio.Event()
        self._parser = rec.RecordParser()

    async def connect(self, name: str) -> None:
        device = await BleakScanner.find_device_by_name(
            name, timeout=5, backend=BumbleScanner, central=self.adapter
        )
        assert device is not None, f"{name} is not advertising"
        self.gone.clear()
        self._parser = rec.RecordParser()
        self.records = asyncio.Queue()  # nothing of an earlier connection
        self.client = BleakClient(
            device,
            disconnected_callback=lambda _c: self.gone.set(),
            backend=BumbleClient,
            central=self.adapter,
        )
        await self.client.connect()
        await self.client.start_notify(air.TX_UUID, self._on_notify)

    def _on_notify(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        for record in self._parser.feed(bytes(data)):
            self.records.put_nowait(record)

    async def write(self, data: bytes) -> None:
        assert self.client is not None
        step = self.client.mtu_size - 3
        for pos in range(0, len(data), step):
            await self.client.write_gatt_char(air.RX_UUID, data[pos : pos + step], response=False)

    async def next_record(self, timeout_s: float = 5.0) -> rec.Record:
        return await asyncio.wait_for(self.records.get(), timeout_s)

    async def send_frame(self, opcode: int, payload: bytes, *, seq: int = 1) -> None:
        """One request frame in one PLAIN record."""
        await self.write(rec.encode(air.REC_PLAIN, wf.encode(opcode, 0, seq, payload)))

    async def request(
        self, opcode: int, payload: bytes, *, seq: int = 1, timeout_s: float = 5.0
    ) -> wf.Frame:
        """send_frame(), then the answer: the frame in the next PLAIN record."""
        await self.send_frame(opcode, payload, seq=seq)
        return await self.next_frame(timeout_s)

    async def next_frame(self, timeout_s: float = 5.0) -> wf.Frame:
        record = await self.next_record(timeout_s)
        assert record.type == air.REC_PLAIN, f"record type {record.type}, not PLAIN"
        frames = wf.Decoder(wf.MAX_FRAME_LIMIT).feed(record.body)
        assert len(frames) == 1, frames
        return frames[0]

    async def wait_gone(self, timeout_s: float = 5.0) -> None:
        await asyncio.wait_for(self.gone.wait(), timeout_s)

    async def close(self) -> None:
        if self.client is not None and self.client.is_connected:
            await self.client.disconnect()
        self.client = None

    async def __aenter__(self) -> RawCentral:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
