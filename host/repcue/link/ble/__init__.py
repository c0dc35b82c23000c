"""The Bluetooth LE link on bleak (``ble:NAME``, ``ble:ADDRESS``, ``ble:auto``).

    transport.py   BleTransport: scan, connect, authenticate, records in and out
    scan.py        which bleak backend to use, nearby devices
    records.py     the host's half of the record layer's handshake and sealing
    keys.py        the pairing keys (0600 index file in the user config dir; the key itself
                   there or in the OS keyring)
    os_keyring.py  the OS keyring, through the keyring library
    pairing.py     pairing and unpairing over the USB cable

Importing this package loads none of them (pairing over USB needs no Bluetooth stack).
"""
