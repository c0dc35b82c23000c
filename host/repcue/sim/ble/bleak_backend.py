"""A bleak backend over a Bumble central on the virtual radio.

Host code keeps bleak's public API and only names the backend:

    BleakScanner(service_uuids=[...], backend=BumbleScanner)
    BleakClient(device, backend=BumbleClient)

Both use the default VirtualRadio's adapter unless given ``radio=`` or ``adapter=``.
The client behaves like a desktop stack: it exchanges the adapter's MTU right after
connecting, discovers the whole table, refuses a write without response longer than
ATT_MTU-3, and reports a link loss through the disconnected callback at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, hci
from bumble.core import UUID
from bumble.device import Advertisement, Connection, Peer
from bumble.gatt_client import CharacteristicProxy

from repcue.sim.ble.radio import CentralAdapter, Radio, default_radio

T = TypeVar("T")

_ATT_HEADER = 3
_PROPERTY_NAMES = (
    (0x01, "broadcast"),
    (0x02, "read"),
    (0x04, "write-without-response"),
    (0x08, "write"),
    (0x10, "notify"),
    (0x20, "indicate"),
    (0x40, "authenticated-signed-writes"),
    (0x80, "extended-properties"),
)
# AD types (Core Supplement, Part A)
_AD_UUID16 = (0x02, 0x03)
_AD_UUID32 = (0x04, 0x05)
_AD_UUID128 = (0x06, 0x07)
_AD_SHORT_NAME = 0x08
_AD_NAME = 0x09
_AD_TX_POWER = 0x0A
_AD_SERVICE_DATA16 = 0x16
_AD_MANUFACTURER = 0xFF


def _uuid_str(raw_le: bytes) -> str:
    """A UUID in advertising order (little-endian) as bleak's lowercase 128-bit string."""
    return uuid_str(UUID.from_bytes(raw_le))


def uuid_str(uuid: UUID) -> str:
    h = uuid.to_bytes(force_128=True)[::-1].hex()
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _pick_adapter(kwargs: dict[str, Any]) -> CentralAdapter:
    adapter = kwargs.get("central")
    if isinstance(adapter, CentralAdapter):
        return adapter
    radio: Radio | None = kwargs.get("radio")
    return (radio or default_radio()).adapter()


def advertisement_data(adv: Advertisement) -> AdvertisementData:
    """Bumble's merged advertisement (+ scan response) as bleak's AdvertisementData."""
    name: str | None = None
    short: str | None = None
    uuids: list[str] = []
    service_data: dict[str, bytes] = {}
    manufacturer: dict[int, bytes] = {}
    tx_power: int | None = None
    for ad_type, value in adv.data.ad_structures:
        kind = int(ad_type)
        if kind in _AD_UUID16:
            uuids += [_uuid_str(value[i : i + 2]) for i in range(0, len(value) - 1, 2)]
        elif kind in _AD_UUID32:
            uuids += [_uuid_str(value[i : i + 4]) for i in range(0, len(value) - 3, 4)]
        elif kind in _AD_UUID128:
            uuids += [_uuid_str(value[i : i + 16]) for i in range(0, len(value) - 15, 16)]
        elif kind == _AD_NAME:
            name = value.decode("utf-8", errors="replace")
        elif kind == _AD_SHORT_NAME:
            short = value.decode("utf-8", errors="replace")
        elif kind == _AD_TX_POWER and value:
            tx_power = int.from_bytes(value[:1], "little", signed=True)
        elif kind == _AD_SERVICE_DATA16 and len(value) >= 2:
            service_data[_uuid_str(value[:2])] = bytes(value[2:])
        elif kind == _AD_MANUFACTURER and len(value) >= 2:
            manufacturer[int.from_bytes(value[:2], "little")] = bytes(value[2:])
    return AdvertisementData(
        local_name=name or short,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=list(dict.fromkeys(uuids)),
        tx_power=tx_power,
        rssi=adv.rssi,
        platform_data=(adv,),
    )


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend: active scanning on the adapter's Bumble central."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._adapter = _pick_adapter(kwargs)
        self._scanning = False

    async def start(self) -> None:
        self.seen_devices = {}
        device = await self._adapter.ensure_on()
        device.on("advertisement", self._on_advertisement)
        self._scanning = True
        await self._adapter.start_scan()

    async def stop(self) -> None:
        if not self._scanning:
            return
        self._scanning = False
        self._adapter.device.remove_listener("advertisement", self._on_advertisement)
        await self._adapter.stop_scan()

    def _on_advertisement(self, adv: Advertisement) -> None:
        data = advertisement_data(adv)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = adv.address.to_string(with_type_qualifier=False)
        device = self.create_or_update_device(address, address, data.local_name, adv.address, data)
        self.call_detection_callbacks(device, data)


class BumbleClient(BaseBleakClient):
    """bleak client backend: a GATT client on the adapter's Bumble central."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._adapter = _pick_adapter(kwargs)
        details = (
            address_or_ble_device.details if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._peer_address: hci.Address | None = (
            details if isinstance(details, hci.Address) else None
        )
        self._connection: Connection | None = None
        self._lost: asyncio.Future[None] | None = None  # done once the link has dropped
        self._peer: Peer | None = None
        self._chars: dict[int, CharacteristicProxy[bytes]] = {}
        self._subscribed: dict[int, Callable[[bytes], None]] = {}
        self._name = ""
        self.writes_refused = 0

    @property
    def name(self) -> str:
        return self._name or self.address

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else att.ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def _find(self) -> hci.Address:
        """Scan until the named address advertises (as bleak does for a bare address)."""
        found: asyncio.Future[hci.Address] = asyncio.get_running_loop().create_future()
        want = self.address.upper()

        def on_adv(adv: Advertisement) -> None:
            if adv.address.to_string(with_type_qualifier=False) == want and not found.done():
                found.set_result(adv.address)

        device = await self._adapter.ensure_on()
        device.on("advertisement", on_adv)
        await self._adapter.start_scan()
        try:
            return await asyncio.wait_for(found, self._timeout)
        except TimeoutError as err:
            raise BleakDeviceNotFoundError(
                self.address, f"Device with address {self.address} was not found."
            ) from err
        finally:
            device.remove_listener("advertisement", on_adv)
            await self._adapter.stop_scan()

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        address = self._peer_address or await self._find()
        device = await self._adapter.ensure_on()
        try:
            # Bumble never answers a cancelled connection attempt: bound it ourselves
            connection = await asyncio.wait_for(
                device.connect(address, timeout=self._timeout), self._timeout + 1
            )
        except (TimeoutError, Exception) as err:
            raise BleakError(f"could not connect to {self.address}: {err!r}") from err
        self._connection = connection
        self._lost = asyncio.get_running_loop().create_future()
        connection.on("disconnection", self._on_disconnection)
        try:
            peer = Peer(connection)
            self._peer = peer
            if self._adapter.mtu > att.ATT_DEFAULT_MTU:
                await self._gatt(peer.request_mtu(self._adapter.mtu))
            self.services = await self._discover(peer)
        except Exception as err:
            await self.disconnect()
            raise BleakError(f"service discovery on {self.address} failed: {err!r}") from err

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        self._chars.clear()
        for service in await self._gatt(peer.discover_services()):
            bservice = BleakGATTService(service, service.handle, uuid_str(service.uuid))
            collection.add_service(bservice)
            for char in await self._gatt(service.discover_characteristics()):
                props = [name for bit, name in _PROPERTY_NAMES if int(char.properties) & bit]
                bchar = BleakGATTCharacteristic(
                    char,
                    char.handle,
                    uuid_str(char.uuid),
                    props,  # type: ignore[arg-type]
                    lambda: self.mtu_size - _ATT_HEADER,
                    bservice,
                )
                collection.add_characteristic(bchar)
                self._chars[char.handle] = char
                for desc in await self._gatt(char.discover_descriptors()):
                    collection.add_descriptor(
                        BleakGATTDescriptor(desc, desc.handle, uuid_str(desc.type), bchar)
                    )
        return collection

    async def _gatt(self, request: Coroutine[Any, Any, T]) -> T:
        """A GATT request raced against the link's end. Bumble's own procedures (service
        discovery) send request after request, and one sent after a drop waits out a 30 s
        timeout; a request pending at the drop has its future cancelled, which reaches us
        as CancelledError though nobody cancelled our task. Both are a lost link here
        (BleakError, as bleak's own backends report it)."""
        lost = self._lost
        if self._connection is None or lost is None or lost.done():
            request.close()
            raise BleakError("not connected: the link dropped")
        task = asyncio.ensure_future(request)
        try:
            either: set[asyncio.Future[Any]] = {task, lost}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
        if task.done() and not task.cancelled():
            return task.result()  # its result, or the error it raised
        raise BleakError("the link dropped during a GATT request")

    def _on_disconnection(self, _reason: int) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)
        self._connection = None
        self._peer = None
        self._subscribed.clear()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.disconnect(), 2.0)
        self._connection = None
        self._peer = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("repcue authenticates in its own record layer, not by bonding")

    async def unpair(self) -> None:
        raise NotImplementedError("repcue authenticates in its own record layer, not by bonding")

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        try:
            return bytearray(await self._gatt(peer.read_value(characteristic.handle)))
        except att.ATT_Error as err:
            raise BleakGATTProtocolError(int(err.error_code)) from err

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        try:
            return bytearray(await peer.read_value(descriptor.handle))
        except att.ATT_Error as err:
            raise BleakGATTProtocolError(int(err.error_code)) from err

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        peer = self._require_peer()
        value = bytes(data)
        if not response and len(value) > self.mtu_size - _ATT_HEADER:
            self.writes_refused += 1
            raise BleakError(
                f"write without response of {len(value)} bytes exceeds ATT_MTU-3 "
                f"({self.mtu_size - _ATT_HEADER})"
            )
        try:
            await self._gatt(peer.write_value(characteristic.handle, value, with_response=response))
        except att.ATT_Error as err:
            raise BleakGATTProtocolError(int(err.error_code)) from err

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        peer = self._require_peer()
        await peer.write_value(descriptor.handle, bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        self._require_peer()
        char = self._chars.get(characteristic.handle)
        if char is None:
            raise BleakError(f"characteristic {characteristic.handle} was not discovered")

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        self._subscribed[characteristic.handle] = on_value
        await self._gatt(char.subscribe(on_value))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        char = self._chars.get(characteristic.handle)
        on_value = self._subscribed.pop(characteristic.handle, None)
        if char is not None and self._peer is not None:
            await char.unsubscribe(on_value)
