"""The bridge: a Bumble peripheral driven by the firmware's `bluetooth` stand-in.

The firmware runs in the `micropython` unix port with device/repcue_device/bluetooth.py, which talks
to a BridgeServer over a unix socket. Each stand-in that connects gets a PeripheralBridge:
a Bumble Device on the virtual radio whose GATT table is exactly what the firmware
registered (same UUIDs, properties and order; the value handles handed back to the
firmware are Bumble's real ATT handles). Central writes, connections and MTU exchanges
flow back to the firmware as IRQ events; its notifications go out on the air.

Sizes are enforced as a real stack would: a Write Command longer than ATT_MTU-3 is
dropped, a notification longer than ATT_MTU-3 is truncated, and the firmware's transmit
buffers come back one credit per notification handed to the radio. Every ATT PDU of the
data path is counted (BridgeStats) for the bench.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bumble import att, gatt, hci
from bumble.device import AdvertisingType, Connection, Device

from repcue.sim.ble import gatt_table, proto

if TYPE_CHECKING:
    from repcue.sim.ble.server import BridgeServer

_log = logging.getLogger(__name__)

_ATT_HEADER = 3  # opcode + handle before a notification's or write command's value
_MAX_ATTR = 512


@dataclass
class BridgeStats:
    """ATT traffic of the data path (notifications and write commands) and its faults."""

    connections: int = 0
    notifications: int = 0
    notify_att_bytes: int = 0
    notify_value_bytes: int = 0
    writes: int = 0
    write_att_bytes: int = 0
    write_value_bytes: int = 0
    truncated_notifications: int = 0
    unsubscribed_notifications: int = 0
    oversize_writes: int = 0

    @property
    def att_bytes(self) -> int:
        return self.notify_att_bytes + self.write_att_bytes

    def reset(self) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, 0)


class BridgeError(Exception):
    """A call from the stand-in that a real stack would refuse; carries an errno."""

    def __init__(self, errno: int, message: str) -> None:
        self.errno = errno
        super().__init__(message)


class PeripheralBridge:
    """One firmware's radio: the Bumble Device it drives and the socket it drives it by."""

    def __init__(
        self,
        server: BridgeServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.server = server
        self.radio = server.radio
        self._reader = reader
        self._writer = writer
        self.address = server.next_address()
        self.device: Device | None = None
        self.config: dict[str, Any] = {}
        self.stats = BridgeStats()
        self.pdu_sizes: list[int] = []  # each data-path ATT PDU's size, for on-air figures
        self.connections: dict[int, Connection] = {}
        self.values: dict[int, bytes] = {}
        self.flags: dict[int, int] = {}
        self.attributes: dict[int, gatt.Characteristic[Any] | gatt.Descriptor] = {}
        self.services: list[gatt.Service] = []
        self.advertising = False
        self.registered = asyncio.Event()
        self.advertised = asyncio.Event()
        self.closed = asyncio.Event()

    @property
    def name(self) -> str:
        return str(self.config.get("gap_name", ""))

    # -- the socket ---------------------------------------------------------------------------
    async def serve(self) -> None:
        try:
            while True:
                head = await self._reader.readexactly(2)
                (size,) = struct.unpack("<H", head)
                body = await self._reader.readexactly(size)
                await self._on_message(body[0], body[1:])
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the firmware process ended (or was killed): its radio goes off the air
        finally:
            await self._power_off()
            self._writer.close()
            self.closed.set()

    async def drop_links(self) -> int:
        """Lose every connection as a radio fade would (supervision timeout on both
        sides); the firmware keeps running. Returns how many were dropped."""
        dropped = 0
        for connection in list(self.connections.values()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.disconnect(hci.HCI_CONNECTION_TIMEOUT_ERROR), 2.0)
                dropped += 1
        return dropped

    def hang_up(self) -> None:
        """Close the socket: the stand-in sees its controller die; serve() then ends."""
        self._writer.close()
        if not self.closed.is_set():
            self._reader.feed_eof()

    def _send(self, mtype: int, body: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(proto.pack(mtype, body))

    async def _on_message(self, mtype: int, body: bytes) -> None:
        if mtype == proto.M_CALL:
            call = json.loads(body)
            reply: dict[str, Any] = {"id": call["id"]}
            try:
                reply["r"] = await self._call(call)
            except BridgeError as err:
                _log.debug("bridge call %s refused: %s", call.get("op"), err)
                reply["err"] = err.errno
            except Exception:  # a bad call must not take the radio down: EINVAL
                _log.exception("bridge call %s failed", call.get("op"))
                reply["err"] = proto.EINVAL
            self._send(proto.M_REPLY, json.dumps(reply).encode())
        elif mtype == proto.M_NOTIFY:
            conn, handle, kind = struct.unpack_from("<HHB", body, 0)
            await self._notify(conn, handle, kind, body[5:])
        elif mtype == proto.M_WRITE_LOCAL:
            handle, update = struct.unpack_from("<HB", body, 0)
            self.values[handle] = bytes(body[3:])
            if update and self.device is not None and handle in self.attributes:
                with contextlib.suppress(Exception):
                    await self.device.notify_subscribers(self.attributes[handle], body[3:])

    # -- calls ----------------------------------------------------------------------------------
    async def _call(self, call: dict[str, Any]) -> Any:
        op = call["op"]
        if op == "active":
            if call["on"]:
                self.config.update(call.get("config", {}))
                device = await self._power_on()
                addr = device.random_address
                return {"mac": bytes(reversed(addr.address_bytes)).hex(), "addr_type": 1}
            await self._power_off()
            return None
        if op == "config":
            self.config.update(call["config"])
            self._apply_config()
            return None
        if op == "register":
            return await self._register(call["services"])
        if op == "advertise":
            return await self._advertise(call)
        if op == "disconnect":
            connection = self.connections.get(call["conn"])
            if connection is None:
                return False
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.disconnect(), 2.0)
            return True
        raise BridgeError(proto.EINVAL, f"unknown call {op!r}")

    async def _power_on(self) -> Device:
        if self.device is None:
            self.device = self.radio.new_device(self.name or "repcue", self.address)
            self.device.on("connection", self._on_connection)
            self._apply_config()
            await self.device.power_on()
        return self.device

    async def _power_off(self) -> None:
        device = self.device
        self.device = None
        self.advertising = False
        if device is not None:
            await self.radio.remove_device(device)
        self.connections.clear()

    def _apply_config(self) -> None:
        device = self.device
        if device is None:
            return
        device.gatt_server.max_mtu = int(self.config.get("mtu", 23))
        name = self.name
        if name:
            device.name = name
            for service in device.gatt_server.services:
                char = getattr(service, "device_name_characteristic", None)
                if char is not None:
                    char.value = name.encode()

    async def _register(self, spec: list[Any]) -> list[list[list[int]]]:
        if self.services:
            if self.connections:
                raise BridgeError(proto.EBUSY, "services are registered while connected")
            # a second registration replaces the table: start from a fresh GATT server
            await self._power_off()
        device = await self._power_on()
        self.values.clear()
        self.flags.clear()
        self.attributes.clear()
        services = gatt_table.build_services(spec, self._read, self._write)
        device.add_services(services)
        self.services = services
        handles = gatt_table.map_handles(spec, services, self.attributes, self.flags)
        self.registered.set()
        return handles

    def _read(self, attribute: gatt.Characteristic[Any] | gatt.Descriptor, flags: int) -> bytes:
        if not flags & proto.FLAG_READ:
            # without this error Bumble's client would wait 30 s for an answer
            raise att.ATT_Error(att.ATT_READ_NOT_PERMITTED_ERROR, attribute.handle)
        return self.values.get(attribute.handle, b"")

    def _write(
        self,
        connection: Connection,
        attribute: gatt.Characteristic[Any] | gatt.Descriptor,
        flags: int,
        value: bytes,
    ) -> None:
        if not flags & (proto.FLAG_WRITE | proto.FLAG_WRITE_NO_RESPONSE):
            raise att.ATT_Error(att.ATT_WRITE_NOT_PERMITTED_ERROR, attribute.handle)
        value = bytes(value)
        limit = connection.att_mtu - _ATT_HEADER if not flags & proto.FLAG_WRITE else _MAX_ATTR
        if len(value) > limit:
            # an ATT PDU longer than the MTU is invalid: a real server drops it
            self.stats.oversize_writes += 1
            return
        self.stats.writes += 1
        self.stats.write_value_bytes += len(value)
        self.stats.write_att_bytes += len(value) + _ATT_HEADER
        self.pdu_sizes.append(len(value) + _ATT_HEADER)
        self._send(proto.E_WRITE, struct.pack("<HH", connection.handle, attribute.handle) + value)

    async def _advertise(self, call: dict[str, Any]) -> None:
        device = await self._power_on()
        interval_us = call.get("interval_us")
        if interval_us is None:
            await device.stop_advertising()
            self.advertising = False
            return
        if len(self.connections) >= self.server.max_connections and call.get("connectable", True):
            raise BridgeError(proto.EBUSY, "every connection slot is taken")
        adv = bytes.fromhex(call["adv"])
        resp = bytes.fromhex(call["resp"])
        kind = (
            AdvertisingType.UNDIRECTED_CONNECTABLE_SCANNABLE
            if call.get("connectable", True)
            else AdvertisingType.UNDIRECTED_SCANNABLE
        )
        # the firmware's interval, capped so that tests do not wait on the air
        interval_ms = min(interval_us / 1000, self.server.max_adv_interval_ms)
        await device.start_advertising(
            advertising_type=kind,
            advertising_data=adv,
            scan_response_data=resp,
            advertising_interval_min=interval_ms,
            advertising_interval_max=interval_ms,
        )
        self.advertising = True
        self.advertised.set()

    # -- the air --------------------------------------------------------------------------------
    def _on_connection(self, connection: Connection) -> None:
        if connection.role != hci.Role.PERIPHERAL:
            return
        self.advertising = False  # connectable advertising ends with the connection
        self.connections[connection.handle] = connection
        self.stats.connections += 1
        peer = connection.peer_address
        addr = bytes(reversed(peer.address_bytes))
        kind = 0 if peer.is_public else 1
        self._send(proto.E_CONNECT, struct.pack("<HB", connection.handle, kind) + addr)

        def on_disconnection(_reason: int) -> None:
            self.connections.pop(connection.handle, None)
            self._send(proto.E_DISCONNECT, struct.pack("<HB", connection.handle, kind) + addr)

        def on_mtu() -> None:
            self._send(proto.E_MTU, struct.pack("<HH", connection.handle, connection.att_mtu))

        connection.on("disconnection", on_disconnection)
        connection.on("connection_att_mtu_update", on_mtu)

    async def _notify(self, conn: int, handle: int, kind: int, value: bytes) -> None:
        connection = self.connections.get(conn)
        attribute = self.attributes.get(handle)
        device = self.device
        if connection is None or attribute is None or device is None:
            self._send(proto.E_CREDIT, struct.pack("<HH", conn, 1))
            return
        limit = connection.att_mtu - _ATT_HEADER
        if len(value) > limit:
            self.stats.truncated_notifications += 1  # what the stack does, silently
            value = value[:limit]
        subscribers = device.gatt_server.subscribers.get(connection, {})
        cccd = subscribers.get(handle, b"")
        bit = 0x02 if kind else 0x01
        if len(cccd) != 2 or not cccd[0] & bit:
            self.stats.unsubscribed_notifications += 1
        else:
            self.stats.notifications += 1
            self.stats.notify_value_bytes += len(value)
            self.stats.notify_att_bytes += len(value) + _ATT_HEADER
            self.pdu_sizes.append(len(value) + _ATT_HEADER)
            if kind:
                status = 0
                try:
                    await device.indicate_subscriber(connection, attribute, value)
                except Exception:
                    status = 1
                self._send(proto.E_INDICATE_DONE, struct.pack("<HHB", conn, handle, status))
            else:
                await device.notify_subscriber(connection, attribute, value)
        self._send(proto.E_CREDIT, struct.pack("<HH", conn, 1))
