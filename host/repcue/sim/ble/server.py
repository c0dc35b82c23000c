"""BridgeServer: where the firmware's `bluetooth` stand-ins connect (REPCUE_BLE_SOCKET).

Each connection is one firmware process and gets a PeripheralBridge (repcue.sim.ble.bridge)
on the radio. The server gives every firmware it hosts the same radio address, so a
device that restarts comes back as the same peripheral, as a board does.
"""

from __future__ import annotations

import asyncio
import contextlib

from bumble import hci

from repcue.sim.ble.bridge import PeripheralBridge
from repcue.sim.ble.radio import VirtualRadio


class BridgeServer:
    """Listens for `bluetooth` stand-ins on a unix socket (REPCUE_BLE_SOCKET)."""

    def __init__(
        self,
        radio: VirtualRadio,
        path: str,
        *,
        address: hci.Address | None = None,
        max_adv_interval_ms: float = 20.0,
        max_connections: int = 4,
    ) -> None:
        self.radio = radio
        self.path = path
        self.max_adv_interval_ms = max_adv_interval_ms
        # the stack's connection slots: NimBLE as MicroPython builds it takes 4, btstack 1
        self.max_connections = max_connections
        self._address = address
        self._server: asyncio.AbstractServer | None = None
        self.bridges: list[PeripheralBridge] = []
        self._arrived = asyncio.Condition()

    def next_address(self) -> hci.Address:
        # a fixed address survives the firmware's restarts, as a board's does
        if self._address is None:
            self._address = self.radio.new_address()
        return self._address

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._on_client, path=self.path)

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        bridge = PeripheralBridge(self, reader, writer)
        self.bridges.append(bridge)
        async with self._arrived:
            self._arrived.notify_all()
        await bridge.serve()

    @property
    def current(self) -> PeripheralBridge | None:
        """The newest firmware connection still open."""
        for bridge in reversed(self.bridges):
            if not bridge.closed.is_set():
                return bridge
        return None

    async def wait_advertising(self, timeout_s: float = 10.0) -> PeripheralBridge:
        """Wait until a firmware is on the air and advertising; return its bridge."""

        async def ready() -> PeripheralBridge:
            while True:
                bridge = self.current
                if bridge is not None and bridge.advertising:
                    return bridge
                async with self._arrived:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._arrived.wait(), 0.02)

        return await asyncio.wait_for(ready(), timeout_s)

    async def close(self) -> None:
        """Stop listening, end every firmware connection and take its radio off the air."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for bridge in self.bridges:
            bridge.hang_up()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bridge.closed.wait(), 2.0)
