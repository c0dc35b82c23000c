"""Bluetooth LE on a virtual radio: Bumble peripherals for the firmware, a bleak backend
for the host, and the record layer that authenticates every frame over the air.

    radio.py          VirtualRadio (Bumble controllers on a LocalLink), CentralAdapter,
                      RadioServer / RemoteRadio (centrals in other processes)
    bridge.py         PeripheralBridge: one firmware's `bluetooth` stand-in -> a Bumble peripheral
    server.py         BridgeServer: the socket the stand-ins connect to
    proto.py          the stand-in <-> bridge message format
    bleak_backend.py  BumbleScanner / BumbleClient: bleak's public API over a Bumble central
    records.py        the BLE record layer (plain, handshake, MAC-sealed) on the host side
    keys.py           the host's pairing keys (0600 index file in the user config dir; the
                      key itself there or in the OS keyring)
    os_keyring.py     the OS keyring, through the keyring library
    virtual.py        VirtualBleDevice (the firmware on the radio), VirtualAir (for repcue sim)
"""
