"""garmin-fit-sdk's Encoder, made fast where an activity file repeats itself.

The SDK's Encoder costs ~300 us a message: it looks every key up in the profile, compares the
definition with all 16 local ones, and writes each value through a call per field. An hour's
activity is mostly the same few shapes again and again (a lap per step, 1 Hz records), so:
- a message's definition is built from the profile once per shape (the keys and the sizes of
  its strings and lists);
- a message whose shape the Encoder already holds as a local definition is packed at once
  with struct, transformed exactly as the SDK transforms it (scale, offset, rounding, the
  integer mask); anything else (strings, lists, a value that is not a number) goes through the
  SDK itself;
- the file's CRC comes from a 16-bit table instead of the SDK's nibble-at-a-time loop.
A test compares the files byte for byte with the plain SDK's. This leans on the SDK's private
parts (_output_stream, _local_mesg_definitions, _create_mesg_definition): that test is what
pins them when the SDK changes.
"""

from __future__ import annotations

import array
import copy
import functools
import struct
import sys
from collections.abc import Callable
from typing import Any, cast

from garmin_fit_sdk import Encoder, Profile
from garmin_fit_sdk import fit as sdk_fit

Packer = Callable[[dict[str, Any]], bytes]


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


@functools.cache
def _crc_table16() -> array.array[int]:
    """The CRC after two bytes, for every 16-bit (crc ^ word): the state is 16 bits, so two
    bytes at a time need one look-up (the table is built once, ~20 ms). Eight bytes a step
    through four such tables (the CRC is linear) measured slower in CPython."""
    t = _CRC_TABLE
    one = [(x >> 8) ^ t[x & 0xFF] for x in range(65536)]
    return array.array("H", [(c >> 8) ^ t[c & 0xFF] for c in one])


def fit_crc(data: bytes | bytearray, crc: int = 0) -> int:
    """FIT's CRC-16 (poly 0xA001 reflected, init 0), two bytes per step: the SDK's own works a
    nibble at a time through a call per byte (1 ms per KB)."""
    pairs = len(data) // 2 * 2
    if pairs >= 4096:
        table16 = _crc_table16()
        words = array.array("H", bytes(data[:pairs]))
        if sys.byteorder == "big":
            words.byteswap()
        for word in words:
            crc = table16[crc ^ word]
    else:
        pairs = 0
    table = _CRC_TABLE
    for byte in data[pairs:]:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def _size(value: object) -> int:
    """What makes two definitions of the same keys differ, a string's or a list's length,
    and what the packers need to know: -1 for one int or float, -2 for anything else (a
    bool, a date: the SDK's to write)."""
    kind = type(value)
    if kind is int or kind is float:
        return -1
    if kind is str:
        return len(cast(str, value).encode())
    if kind is list:
        return len(cast(list[Any], value))
    return -2


_FLOAT_TYPES = ("float32", "float64")


def _field_transform(field: dict[str, Any]) -> Callable[[Any], Any] | None:
    """The SDK's value transform and integer mask for one field holding one number or one
    string (None: an array, which the SDK writes)."""
    base = sdk_fit.BASE_TYPE_DEFINITIONS[field["base_type"]]
    code = base["type_code"]
    if code == "s":
        return str.encode  # struct pads it with the one NUL the SDK appends
    if field["size"] != base["size"]:
        return None
    kind = field["type"]
    scaled = kind in sdk_fit.NUMERIC_FIELD_TYPES and (
        field["scale"] != sdk_fit.FIELD_DEFAULT_SCALE
        or field["offset"] != sdk_fit.FIELD_DEFAULT_OFFSET
    )
    scale, offset = field["scale"], field["offset"]
    if field.get("named"):  # an enum by its profile name, as the SDK looks it up
        numbers, numeric = _profile_numbers(kind), _field_transform({**field, "named": False})

        def by_name(v: str) -> Any:
            number = numbers.get(v)
            if number is None or numeric is None:
                raise ValueError(f'Value "{v}" could not be mapped to profile type "{kind}"')
            return numeric(number)

        return by_name
    if code in ("f", "d"):
        if scaled:
            return lambda v: (v + offset) * scale
        return lambda v: v
    bits = base["size"] * 8
    mask, top = (1 << bits) - 1, 1 << (bits - 1)
    signed = base["signed"]
    as_float = kind in _FLOAT_TYPES  # a float field type on an integer base: not rounded

    def transform(v: Any) -> Any:
        if scaled:
            v = (v + offset) * scale
            if not as_float:
                v = round(v)
        raw = int(v) & mask
        return raw - (mask + 1) if signed and raw >= top else raw

    return transform


@functools.cache
def _profile_numbers(kind: str) -> dict[str, int]:
    """An enum's names -> numbers (the first number of a name, as the SDK's search finds)."""
    numbers: dict[str, int] = {}
    for number, name in Profile["types"].get(kind, {}).items():
        numbers.setdefault(name, number)
    return numbers


Field = tuple[str, int, int, str, float, float, bool]


@functools.cache
def _packer(mesg_num: int, fields: tuple[Field, ...], local_num: int) -> Packer | None:
    """Pack a message's data record in the very bytes the SDK's on_mesg writes for a local
    definition of these fields (name, size, base type, type, scale, offset, given by enum
    name; in its order): the header byte, then each field. None for an array field."""
    names, transforms, codes = [], [], ["<B"]
    for name, size, base_type, kind, scale, offset, named in fields:
        field = {"size": size, "base_type": base_type, "type": kind, "named": named}
        transform = _field_transform({**field, "scale": scale, "offset": offset})
        if transform is None:
            return None
        names.append(name)
        transforms.append(transform)
        code = sdk_fit.BASE_TYPE_DEFINITIONS[base_type]["type_code"]
        codes.append(f"{size}s" if code == "s" else code)
    layout = struct.Struct("".join(codes))
    pairs = tuple(zip(names, transforms, strict=True))

    def pack(mesg: dict[str, Any]) -> bytes:
        return layout.pack(local_num, *[transform(mesg[name]) for name, transform in pairs])

    return pack


def _packer_of(definition: Any, mesg: dict[str, Any]) -> Packer | None:
    """The packer of a local definition for messages of this one's shape: each string field
    holds a str, each enum field its number or its profile name, each other field one int or
    float (bool is an int to Python, not to the SDK); anything else is left to the SDK."""
    if definition.developer_field_definitions:
        return None
    fields = []
    for f in definition.field_definitions:
        value, kind = mesg.get(f["name"]), f["type"]
        named = False
        if f["base_type"] == sdk_fit.BASE_TYPE["STRING"]:
            if type(value) is not str:
                return None
        elif type(value) is str:
            named = kind in Profile["types"] and kind not in sdk_fit.NUMERIC_FIELD_TYPES
            if not named or kind in ("date_time", "local_date_time"):
                return None
        elif type(value) not in (int, float):
            return None
        fields.append((f["name"], f["size"], f["base_type"], kind, f["scale"], f["offset"], named))
    return _packer(definition.global_message_number, tuple(fields), definition.local_mesg_num)


def _definition_bytes(definition: Any) -> bytes:
    """A definition message as the SDK's _MesgDefinition.write() lays it out."""
    fields = tuple(
        (f["num"], f["size"], f["base_type"] | f["base_type_endian_flag"])
        for f in definition.field_definitions
    )
    return _definition_layout(definition.global_message_number, fields, definition.local_mesg_num)


@functools.cache
def _definition_layout(
    mesg_num: int, fields: tuple[tuple[int, int, int], ...], local_num: int
) -> bytes:
    header = sdk_fit.MESG_DEFINITION_MASK | (local_num & sdk_fit.LOCAL_MESG_NUM_MASK)
    out = struct.pack("<BBBHB", header, 0, sdk_fit.ARCH_LITTLE_ENDIAN, mesg_num, len(fields))
    return out + bytes(byte for field in fields for byte in field)


# a message shape -> the SDK's definition of it (built from the profile once per process)
_PROTOTYPES: dict[tuple[object, ...], Any] = {}


class FastEncoder(Encoder):
    """The SDK's Encoder with the fast paths described above (same bytes, tested)."""

    def __init__(self) -> None:
        super().__init__()
        # shape -> (the local definition it was last written with, its packer)
        self._packed: dict[tuple[object, ...], tuple[Any, Packer | None]] = {}

    @staticmethod
    def _shape(mesg_num: int, mesg: dict[str, Any]) -> tuple[object, ...]:
        return (mesg_num, *((k, _size(v)) for k, v in mesg.items() if v is not None))

    def _create_mesg_definition(self, mesg_num: int, mesg: dict[str, Any]) -> Any:
        shape = self._shape(mesg_num, mesg)
        found = _PROTOTYPES.get(shape)
        if found is None:
            found = cast(Any, super())._create_mesg_definition(mesg_num, mesg)
            if "developer_fields" not in mesg:  # those depend on the Encoder's descriptions
                _PROTOTYPES[shape] = found
        return copy.copy(found)  # the Encoder sets its local number on the copy it keeps

    def on_mesg(self, mesg_num: int, mesg: dict[str, Any]) -> Encoder:
        me = cast(Any, self)
        shape = self._shape(mesg_num, mesg)  # the keys and what kind of value each holds
        known = self._packed.get(shape)
        if known is not None:
            local, pack = known
            if pack is not None and me._local_mesg_definitions[local.local_mesg_num] is local:
                me._output_stream._buffer += pack(mesg)
                return self
        definition = self._create_mesg_definition(mesg_num, mesg)
        if _packer_of(definition, mesg) is None:
            super().on_mesg(mesg_num, mesg)
            local = me._find_local_mesg_definition(definition)  # the one the SDK just used
            self._packed[shape] = (local, None)
            return self
        # the SDK's on_mesg, step for step: reuse an equal local definition, else define one
        local = me._find_local_mesg_definition(definition)
        if local is None:
            local = definition
            local.local_mesg_num = me._next_local_mesg_num & sdk_fit.LOCAL_MESG_NUM_MASK
            me._next_local_mesg_num += 1
            me._output_stream._buffer += _definition_bytes(local)
            me._local_mesg_definitions[local.local_mesg_num] = local
        pack = _packer_of(local, mesg)
        self._packed[shape] = (local, pack)
        me._output_stream._buffer += cast(Packer, pack)(mesg)
        return self

    def holds(self, mesg_num: int, mesg: dict[str, Any]) -> int:
        """The local number of the definition this message's shape is written with while
        the Encoder still holds it, else -1 (for callers that pack many at once)."""
        known = self._packed.get(self._shape(mesg_num, mesg))
        if known is None:
            return -1
        local = known[0]
        me = cast(Any, self)
        return (
            int(local.local_mesg_num)
            if me._local_mesg_definitions[local.local_mesg_num] is local
            else -1
        )

    def buffer(self) -> bytearray:
        """The Encoder's output so far (records packed in bulk are appended here)."""
        buf: bytearray = cast(Any, self)._output_stream._buffer
        return buf

    def close(self) -> bytes:
        me = cast(Any, self)  # the SDK's stubs leave out its private parts
        me._update_file_header()
        me._output_stream.write_uint16(fit_crc(me._output_stream._buffer))
        data: bytes = me._output_stream.data
        return data
