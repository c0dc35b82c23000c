"""`repcue pair` / `repcue unpair`: the BLE pairing key, written over USB serial."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from rich.console import Console

from repcue.cli.argtypes import add_device_argument
from repcue.config import resolve_device_spec
from repcue.devices import open_device
from repcue.link.ble.keys import KeyStore
from repcue.link.ble.pairing import pair_over_usb, unpair_over_usb


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pair = sub.add_parser(
        "pair",
        help="give the device (over USB serial) and this computer a new Bluetooth key",
        description="Write a fresh random 256-bit key to the device over USB serial and "
        "to this computer: the OS keyring if one is available, else a 0600 file in the user "
        "config dir ($REPCUE_KEYS overrides its path; $REPCUE_KEYRING=auto|off|on chooses). "
        "Afterwards --device ble:NAME is authenticated. Pairing again replaces the key.",
    )
    add_device_argument(pair)
    pair.add_argument("--json", action="store_true", help="print one JSON object")
    pair.set_defaults(func=cmd_pair)

    unpair = sub.add_parser(
        "unpair", help="delete the Bluetooth key on the device (over USB serial) and here"
    )
    add_device_argument(unpair)
    unpair.add_argument("--json", action="store_true", help="print one JSON object")
    unpair.set_defaults(func=cmd_unpair)


def cmd_pair(args: argparse.Namespace) -> int:
    async def main() -> int:
        keys = KeyStore()

        def waiting() -> None:
            sys.stderr.write("the device asks: press any of its buttons to accept pairing\n")

        async with open_device(resolve_device_spec(args.device), wait_s=args.timeout) as client:
            result = await pair_over_usb(client, keys, on_waiting=waiting)
        entry = keys.paired(result.device_id)
        key_in = entry.key_in if entry is not None else "file"
        if args.json:
            _print_json(
                {
                    "device_id": result.device_id,
                    "name": result.name,
                    "keys": result.key_path,
                    "key_in": key_in,
                }
            )
        else:
            where = (
                f"the OS keyring ({keys.keyring_name()}), listed in {result.key_path}"
                if key_in == "keyring"
                else result.key_path
            )
            Console(highlight=False).print(
                f"paired {result.name} ({result.device_id}); key saved in {where}. "
                f"Reach it with --device ble:{result.name}"
            )
        return 0

    return asyncio.run(main())


def cmd_unpair(args: argparse.Namespace) -> int:
    async def main() -> int:
        keys = KeyStore()
        async with open_device(resolve_device_spec(args.device), wait_s=args.timeout) as client:
            result, held = await unpair_over_usb(client, keys)
        if args.json:
            _print_json({"device_id": result.device_id, "name": result.name, "had_key": held})
        else:
            state = "key deleted" if held else "it held no key"
            Console(highlight=False).print(
                f"unpaired {result.name} ({result.device_id}): {state}; "
                "only USB serial reaches it now"
            )
        return 0

    return asyncio.run(main())


def _print_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")
