"""The firmware's BLE security pieces in the real micropython binary (the checks are in
tests/vm/ble_checks.py, run inside the VM): the dispatcher refuses what an
unauthenticated central asks, whatever filter sits in front of it; the air allow-list;
record counters that end a link before they wrap; nonces that never repeat; keys
scrubbed from the flash; and a BLE service that survives a failing pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from repcue_fw.link.ble import keys, server
from repcue_fw.wire import air
from repcue_fw.wire.host import frame as wf
from repcue_fw.wire.host import opcodes as op
from tests.mpy import run_mpy

from . import forge


def check(call: str) -> Any:
    out = run_mpy(f"import ble_checks\nble_checks.{call}\n")
    return json.loads(out.splitlines()[-1])


def test_the_dispatcher_itself_runs_nothing_but_hello_before_authentication() -> None:
    requests = [wf.encode(o, 0, 10 + i, p) for i, (o, p) in enumerate(forge.REQUESTS.items())]
    got = check(f"unauthenticated({[r.hex() for r in requests]!r})")
    assert got["before"] == [[o, op.ST_AUTH] for o in forge.REQUESTS]
    assert got["ran_before"] == [] and got["refused"] == len(forge.REQUESTS)
    # HELLO before authentication: name and firmware, nothing a stranger could use
    free_heap, free_flash, clock_s, program_id, device_id, name, board, firmware, caps = got[
        "hello"
    ]
    assert (name, firmware) == ("watch", "9.9")
    assert (device_id, board, free_heap, free_flash, clock_s, program_id, caps) == (
        "",
        "",
        0,
        0,
        0,
        0,
        0,
    )
    # once authenticated the very same frames run
    statuses = dict(got["after"])
    assert op.ST_AUTH not in statuses.values() and statuses[op.OP_REPL] == op.ST_OK
    assert {"set_time", "start", "press", "ack_sessions", "pair"} <= set(got["ran_after"])


def test_a_new_central_never_gets_the_last_ones_cached_answer() -> None:
    once, status, total = check("replay_cache()")
    assert once == 1  # the retry was answered from the cache
    assert status == op.ST_AUTH  # not the cached answer to someone else's request
    assert total == 2


def test_over_the_air_only_the_allow_list_is_reachable() -> None:
    hidden, offered, repl_status, leave = check("air_services()")
    assert hidden == ["pair", "unpair", "repl", "factory_reset", "key_store", "anything"]
    assert offered == len(server.AIR_SERVICES)
    assert (repl_status, leave) == (op.ST_UNSUPPORTED, 0)


def test_record_counters_end_the_link_before_they_wrap() -> None:
    sealed_last, refused, tx_ctr, open_code = check("counters()")
    assert sealed_last and refused == 0 and tx_ctr == air.CTR_LIMIT
    assert open_code == air.ERR_LIMIT
    assert air.CTR_LIMIT < 2**30  # a small int on a 32-bit port, far from the u32 wrap


def test_nonces_never_repeat_even_with_a_random_source_of_zeros() -> None:
    assert check("nonces()") == [150, air.NONCE_LEN]


def test_repairing_and_unpairing_scrub_the_old_key_from_every_block(tmp_path: Path) -> None:
    got = check(f"scrub({str(tmp_path / 'flash.img')!r})")
    first_there, first_after, second_there, writes, second_after, gone, writes2, b1, b2 = got
    assert first_there and second_there
    assert not first_after and not second_after and gone
    assert 0 < writes < keys.KeyStore.SCRUB_MAX and 0 < writes2 < keys.KeyStore.SCRUB_MAX
    assert (b1, b2) == (1, 2)  # the boot counter counts on from flash


def test_a_failing_pass_drops_its_central_and_ble_goes_on() -> None:
    crashes, logged, disconnected, served, answered_first = check("contained()")
    assert (crashes, logged) == (1, 1)
    assert disconnected == [5]  # the central whose pass failed
    assert served == op.OP_HELLO and not answered_first  # the next central is served
