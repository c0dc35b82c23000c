"""The bridge's GATT table: Bumble services built from what the firmware registered.

The stand-in (device/repcue_device/bluetooth.py) sends gatts_register_services() as a spec of
``[service_uuid, [[char_uuid, flags, [[desc_uuid, flags], ...]], ...]]``; this module turns
it into Bumble services (same UUIDs, properties and order) whose values are read and
written through the bridge's callbacks, and maps the handles Bumble assigned back into
the shape the firmware expects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bumble import gatt
from bumble.core import UUID
from bumble.device import Connection

from repcue.sim.ble import proto

_PROPS = 0x3F  # MicroPython FLAG_* bits 0-5 are the ATT characteristic properties

Attribute = gatt.Characteristic[Any] | gatt.Descriptor
ReadFn = Callable[[Attribute, int], bytes]
WriteFn = Callable[[Connection, Attribute, int, bytes], None]


def build_services(spec: list[Any], read: ReadFn, write: WriteFn) -> list[gatt.Service]:
    """One Bumble service per registered service, in the firmware's order."""
    services = []
    for suuid, chars in spec:
        characteristics = []
        for cuuid, flags, descs in chars:
            descriptors = [descriptor(duuid, dflags, read, write) for duuid, dflags in descs]
            characteristics.append(characteristic(cuuid, flags, descriptors, read, write))
        services.append(gatt.Service(uuid_of(suuid), characteristics))
    return services


def map_handles(
    spec: list[Any],
    services: list[gatt.Service],
    attributes: dict[int, Attribute],
    flags_by_handle: dict[int, int],
) -> list[list[list[int]]]:
    """Fill attributes and flags_by_handle with the handles Bumble assigned; return them in
    the firmware's shape (per service, per characteristic: value handle then descriptors)."""
    handles: list[list[list[int]]] = []
    for (_suuid, chars), service in zip(spec, services, strict=True):
        row = []
        for (_cuuid, flags, descs), char in zip(chars, service.characteristics, strict=True):
            attributes[char.handle] = char
            flags_by_handle[char.handle] = flags
            entry = [char.handle]
            for (_duuid, dflags), desc in zip(descs, char.descriptors, strict=True):
                attributes[desc.handle] = desc
                flags_by_handle[desc.handle] = dflags
                entry.append(desc.handle)
            row.append(entry)
        handles.append(row)
    return handles


def characteristic(
    uuid: str, flags: int, descriptors: list[gatt.Descriptor], read: ReadFn, write: WriteFn
) -> gatt.Characteristic[Any]:
    props = gatt.Characteristic.Properties(flags & _PROPS)
    perms = gatt.Characteristic.Permissions(0)
    if flags & proto.FLAG_READ:
        perms |= gatt.Characteristic.READABLE
    if flags & (proto.FLAG_WRITE | proto.FLAG_WRITE_NO_RESPONSE):
        perms |= gatt.Characteristic.WRITEABLE
    char: gatt.Characteristic[Any] = gatt.Characteristic(
        uuid_of(uuid), props, perms, None, descriptors=descriptors
    )
    char.value = gatt.CharacteristicValue(
        read=lambda connection: read(char, flags),
        write=lambda connection, value: write(connection, char, flags, value),
    )
    return char


def descriptor(uuid: str, flags: int, read: ReadFn, write: WriteFn) -> gatt.Descriptor:
    perms = gatt.Descriptor.Permissions(0)
    if flags & proto.FLAG_READ:
        perms |= gatt.Descriptor.READABLE
    if flags & (proto.FLAG_WRITE | proto.FLAG_WRITE_NO_RESPONSE):
        perms |= gatt.Descriptor.WRITEABLE
    desc = gatt.Descriptor(uuid_of(uuid), perms)
    desc.value = gatt.CharacteristicValue(
        read=lambda connection: read(desc, flags),
        write=lambda connection, value: write(connection, desc, flags, value),
    )
    return desc


def uuid_of(text: str) -> UUID:
    """The stand-in writes 16/32-bit UUIDs as 0x180a, 128-bit ones with dashes."""
    if text.startswith("0x"):
        value = int(text, 16)
        return UUID.from_16_bits(value) if value <= 0xFFFF else UUID.from_32_bits(value)
    return UUID(text)
