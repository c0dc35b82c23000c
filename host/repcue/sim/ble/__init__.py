"""The virtual Bluetooth LE radio the virtual device advertises on (Bumble, fully offline).

radio.py          VirtualRadio (Bumble controllers on a LocalLink), CentralAdapter,
                  RadioServer / RemoteRadio (centrals in other processes)
bridge.py         PeripheralBridge: one firmware's `bluetooth` stand-in -> a Bumble
                  peripheral
server.py         BridgeServer: the socket the stand-ins connect to
proto.py          the stand-in <-> bridge message format
gatt_table.py     the bridge's GATT table, built from what the firmware registered
bleak_backend.py  BumbleScanner / BumbleClient: bleak's public API over a Bumble central
virtual.py        VirtualAir: the radio in a thread of its own, for a virtual device
"""
