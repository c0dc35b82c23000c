"""The bridge socket's message format (device/repcue_device/bluetooth.py speaks the other end).

Each message: u16 length (little-endian, of type + body), u8 type, body. Calls and their
replies carry JSON; notifications, writes and events are binary. The constants are
duplicated in the stand-in (MicroPython cannot import this package); a test checks both
sides agree.
"""

from __future__ import annotations

import struct

M_CALL = 0x01  # stand-in -> bridge: JSON {"id", "op", ...}; answered by M_REPLY
M_NOTIFY = 0x02  # u16 conn, u16 value handle, u8 kind (0 notify, 1 indicate), data
M_WRITE_LOCAL = 0x03  # u16 value handle, u8 send_update, data (gatts_write)
M_REPLY = 0x81  # bridge -> stand-in: JSON {"id", "r"} or {"id", "err": errno}
E_CONNECT = 0x10  # u16 conn, u8 addr type, 6 bytes address (MSB first)
E_DISCONNECT = 0x11  # same fields
E_WRITE = 0x12  # u16 conn, u16 attribute handle, data
E_MTU = 0x13  # u16 conn, u16 mtu
E_CREDIT = 0x14  # u16 conn, u16 count: notifications handed to the radio
E_INDICATE_DONE = 0x15  # u16 conn, u16 handle, u8 status

# MicroPython's characteristic flags (bits 0-5 are the ATT properties)
FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
FLAG_INDICATE = 0x0020

EINVAL = 22
EBUSY = 16


def pack(mtype: int, body: bytes) -> bytes:
    return struct.pack("<HB", len(body) + 1, mtype) + body
