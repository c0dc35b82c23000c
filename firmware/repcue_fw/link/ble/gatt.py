# The BLE link's face on the air: our GATT service (RX, TX), Device Information and
# Battery, registered with the stack (the UUIDs and advertising payloads are wire/air.py;
# server.py serves the protocol over them).
#
#   service  7a1c0001-2f6d-4b8e-a3c5-726570637565
#     RX     7a1c0002-...  write without response: host -> device record bytes
#     TX     7a1c0003-...  notify: device -> host record bytes
#   plus Device Information (0x180A: manufacturer, model = board, serial = device id,
#   firmware revision) and Battery (0x180F, level: read + notify).
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


from repcue_fw.wire import air

_FLAG_READ = const(0x0002)
_FLAG_WRITE_NO_RESPONSE = const(0x0004)
_FLAG_NOTIFY = const(0x0010)


def available():
    """True when this port has a `bluetooth` module (the unix port needs the stand-in)."""
    try:
        import bluetooth  # noqa: F401
    except ImportError:
        return False
    return True


def register_services(ble, rx_size, board, device_id, firmware):
    """Register the three services on an active `ble`, fill their values; give back the
    (RX, TX, battery level) value handles. RX is an append buffer of rx_size bytes."""
    from bluetooth import UUID

    repcue = (
        UUID(air.SERVICE_UUID),
        ((UUID(air.RX_UUID), _FLAG_WRITE_NO_RESPONSE), (UUID(air.TX_UUID), _FLAG_NOTIFY)),
    )
    dis = (
        UUID(air.DIS_UUID),
        (
            (UUID(0x2A29), _FLAG_READ),
            (UUID(0x2A24), _FLAG_READ),
            (UUID(0x2A25), _FLAG_READ),
            (UUID(0x2A26), _FLAG_READ),
        ),
    )
    battery = (UUID(air.BATTERY_UUID), ((UUID(air.BATTERY_LEVEL_UUID), _FLAG_READ | _FLAG_NOTIFY),))
    handles = ble.gatts_register_services((repcue, dis, battery))
    rx_handle, tx_handle = handles[0]
    mfr, model, serial, fw = handles[1]
    battery_handle = handles[2][0]
    ble.gatts_set_buffer(rx_handle, rx_size, True)
    ble.gatts_write(mfr, air.MANUFACTURER.encode())
    ble.gatts_write(model, board.encode())
    ble.gatts_write(serial, _hex(device_id).encode())
    ble.gatts_write(fw, firmware.encode())
    ble.gatts_write(battery_handle, b"\x64")
    return rx_handle, tx_handle, battery_handle


def _hex(raw):
    out = ""
    for b in raw:
        out += "%02x" % b
    return out
