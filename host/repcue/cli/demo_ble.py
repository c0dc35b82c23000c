"""`repcue demo --ble`: the README demo over the virtual Bluetooth LE link.

The virtual device gets a virtual radio of its own (a socket in the demo's scratch dir, so
a `repcue sim serve --ble` elsewhere is not disturbed). The host pairs over the device's
serial port first (physical access is the trust anchor; the key goes to a throwaway key
store, not the user's), then uploads, starts, and syncs over BLE, authenticated.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console

from repcue.ble.keys import KeyStore
from repcue.ble.pairing import pair_over_usb
from repcue.cli.device_cmd import run_sync, upload_plan
from repcue.link.client import DeviceClient
from repcue.link.serial import SerialTransport
from repcue.sim import autopilot
from repcue.sim.launcher import VirtualDevice
from repcue.sim.options import SimOptions
from repcue.sync import SyncResult


async def run_over_ble(
    options: SimOptions, text: str, db: str, scratch: Path, out: Console, timeout_s: float
) -> SyncResult:
    """Start the device with a radio, pair over serial, run the session over BLE."""
    from repcue.ble.bleak_backend import BumbleClient, BumbleScanner
    from repcue.ble.radio import remote_radio
    from repcue.link.ble import BleBackend, BleTransport

    options = SimOptions(
        speed=options.speed, autopilot=options.autopilot, ble=True, ble_radio=scratch / "radio"
    )
    device = VirtualDevice(options)
    await asyncio.to_thread(device.start)
    radio = None
    try:
        assert device.air is not None
        keys = KeyStore(scratch / "ble_keys.json")
        async with DeviceClient(SerialTransport(device.pty_path)) as usb:
            paired = await pair_over_usb(usb, keys)
        out.print(f"paired {paired.name} over USB serial ({device.pty_path})")
        radio = remote_radio(device.air.radio_path)
        backend = BleBackend(BumbleScanner, BumbleClient, {"radio": radio}, virtual=True)
        transport = BleTransport(device.ble_name, keys=keys, backend=backend)
        async with DeviceClient(transport) as client:
            await client.hello()
            out.print(
                f"connected over BLE to {device.ble_name} (ATT MTU {transport.mtu}, "
                f"{'authenticated' if transport.authenticated else 'NOT authenticated'})"
            )
            await upload_plan(client, text, "demo", profile_path=None, fmt="repcue", db=db, out=out)
            autopilot.enable(device, options.autopilot)
            out.print("running the session with the autopilot runner ...")
            session_id = await client.start()
            finish = await asyncio.to_thread(autopilot.run_to_finish, device, timeout_s=timeout_s)
            out.print(f"session {session_id} finished ({finish.get('b', 0) / 1000:.0f} s run)")
            return await run_sync(client, db, out)
    finally:
        if radio is not None:
            await radio.close()
        await asyncio.to_thread(device.stop)
