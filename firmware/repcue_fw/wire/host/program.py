# Device programs, the host's side: the Program model (Step, Repeat, Program), the encoder
# with its range checks, the decoder into objects, and the names of kinds, ends and targets.
# The byte layout, its constants and the node reader are wire/program.py (what the
# firmware runs, re-exported here): this module only builds on them.
import binascii

from repcue_fw.wire import WireError
from repcue_fw.wire.host import check_range
from repcue_fw.wire.host.varint import put as put_varint
from repcue_fw.wire.program import *  # noqa: F403  (the board's side, and the host's add-ons below)
from repcue_fw.wire.program import (
    CRC_LEN,
    CUE_COUNTDOWN_SET,
    CUE_HALFWAY_ON,
    CUE_HALFWAY_SET,
    END_OPEN,
    END_TIME,
    FLAG_HALFWAY,
    FLAG_LAST_REP,
    FORMAT_VERSION,
    HDR_CUE,
    HDR_DROP_LAST,
    HDR_TARGET,
    KIND_COOLDOWN,
    KIND_RECOVERY,
    KIND_REST,
    KIND_WARMUP,
    MAX_COUNTDOWN_S,
    MAX_DEPTH,
    MAX_NAME_BYTES,
    MAX_NODES,
    MAX_PACE_NAME,
    MAX_PROGRAM_BYTES,
    MAX_REPEAT,
    NODE_REPEAT,
    TARGET_HR_ZONE,
    TARGET_NONE,
    TARGET_PACE,
    Node,
    ProgramBytes,
    read_node,
)

KIND_NAMES = ("warmup", "work", "recovery", "rest", "cooldown")
END_NAMES = ("time", "distance", "open")
# Pace names (the "name" of a pace target, 0..MAX_PACE_NAME); 0 is an explicit pace (3:45/km).
PACE_NAMES = ("", "mile", "3k", "5k", "10k", "half", "marathon", "threshold", "easy")
EFFORT_NAMES = ("", "all out", "hard", "steady", "easy", "float", "jog", "walk")


class Step:
    """One step of a program: what it is, what ends it, its target and cue overrides."""

    def __init__(
        self,
        kind,
        end,
        value,
        target_type=TARGET_NONE,
        target_name=0,
        target_value=0,
        countdown_s=None,
        halfway=None,
    ):
        self.kind = kind
        self.end = end
        self.value = value
        self.target_type = target_type
        self.target_name = target_name
        self.target_value = target_value
        self.countdown_s = countdown_s  # None: the program's default
        self.halfway = halfway  # None: the program's default

    def _key(self):
        return (
            self.kind,
            self.end,
            self.value,
            self.target_type,
            self.target_name,
            self.target_value,
            self.countdown_s,
            self.halfway,
        )

    def __eq__(self, other):
        return isinstance(other, Step) and self._key() == other._key()

    def __repr__(self):
        return "Step" + repr(self._key())


class Repeat:
    """A loop: run `body` `count` times."""

    def __init__(self, count, body, drop_last_recovery=False):
        self.count = count
        self.body = body
        self.drop_last_recovery = drop_last_recovery

    def __eq__(self, other):
        return (
            isinstance(other, Repeat)
            and self.count == other.count
            and self.drop_last_recovery == other.drop_last_recovery
            and self.body == other.body
        )

    def __repr__(self):
        return (
            "Repeat("
            + repr(self.count)
            + ", "
            + repr(self.body)
            + ", "
            + repr(self.drop_last_recovery)
            + ")"
        )


class Program:
    """A whole workout as the device runs it. `name`: the plan's name, carried in the
    program so a session names its plan on any host (at most MAX_NAME_BYTES of UTF-8)."""

    def __init__(self, nodes, countdown_s=3, halfway=False, last_rep=True, name=""):
        self.nodes = nodes
        self.countdown_s = countdown_s
        self.halfway = halfway
        self.last_rep = last_rep
        self.name = name

    def __eq__(self, other):
        return (
            isinstance(other, Program)
            and self.name == other.name
            and self.countdown_s == other.countdown_s
            and self.halfway == other.halfway
            and self.last_rep == other.last_rep
            and self.nodes == other.nodes
        )

    def __repr__(self):
        return (
            "Program("
            + repr(self.nodes)
            + ", countdown_s="
            + repr(self.countdown_s)
            + ", halfway="
            + repr(self.halfway)
            + ", last_rep="
            + repr(self.last_rep)
            + ", name="
            + repr(self.name)
            + ")"
        )


def _encode_nodes(out, nodes, depth, counter):
    if depth > MAX_DEPTH:
        raise WireError("repeats nested deeper than " + str(MAX_DEPTH), -1, "depth")
    for node in nodes:
        counter[0] += 1
        if counter[0] > MAX_NODES:
            raise WireError("more than " + str(MAX_NODES) + " steps and repeats", -1, "nodes")
        if isinstance(node, Repeat):
            check_range(node.count, 1, MAX_REPEAT, "repeat.count")
            if not node.body:
                raise WireError("a repeat block needs at least one step", -1, "repeat.body")
            out.append(NODE_REPEAT | (HDR_DROP_LAST if node.drop_last_recovery else 0))
            put_varint(out, node.count, "repeat.count")
            put_varint(out, len(node.body), "repeat.body")
            _encode_nodes(out, node.body, depth + 1, counter)
            continue
        check_range(node.kind, KIND_WARMUP, KIND_COOLDOWN, "step.kind")
        check_range(node.end, END_TIME, END_OPEN, "step.end")
        has_target = node.target_type != TARGET_NONE
        has_cue = node.countdown_s is not None or node.halfway is not None
        out.append(
            node.kind
            | (node.end << 3)
            | (HDR_TARGET if has_target else 0)
            | (HDR_CUE if has_cue else 0)
        )
        put_varint(out, node.value, "step.value")
        if has_target:
            check_range(node.target_type, TARGET_PACE, TARGET_HR_ZONE, "step.target_type")
            check_range(node.target_name, 0, MAX_PACE_NAME, "step.target_name")
            out.append(node.target_type | (node.target_name << 3))
            put_varint(out, node.target_value, "step.target_value")
        if has_cue:
            cue = 0
            if node.countdown_s is not None:
                check_range(node.countdown_s, 0, MAX_COUNTDOWN_S, "step.countdown_s")
                cue = node.countdown_s | CUE_COUNTDOWN_SET
            if node.halfway is not None:
                cue |= CUE_HALFWAY_SET | (CUE_HALFWAY_ON if node.halfway else 0)
            out.append(cue)


def encode(program):
    """Program -> bytes. Raises WireError naming the field that does not fit."""
    check_range(program.countdown_s, 0, MAX_COUNTDOWN_S, "countdown_s")
    if not program.nodes:
        raise WireError("a program needs at least one step", -1, "nodes")
    name = program.name.encode("utf-8")
    if len(name) > MAX_NAME_BYTES:
        raise WireError(
            "name is " + str(len(name)) + " bytes, the limit is " + str(MAX_NAME_BYTES),
            -1,
            "name",
        )
    out = bytearray()
    out.append(FORMAT_VERSION)
    out.append(
        (FLAG_HALFWAY if program.halfway else 0)
        | (FLAG_LAST_REP if program.last_rep else 0)
        | (program.countdown_s << 4)
    )
    out.append(len(name))
    out.extend(name)
    put_varint(out, len(program.nodes), "nodes")
    _encode_nodes(out, program.nodes, 0, [0])
    if len(out) + CRC_LEN > MAX_PROGRAM_BYTES:
        raise WireError(
            "program is "
            + str(len(out) + CRC_LEN)
            + " bytes, the limit is "
            + str(MAX_PROGRAM_BYTES),
            -1,
            "size",
        )
    crc = binascii.crc32(out) & 0xFFFFFFFF
    out.extend(crc.to_bytes(CRC_LEN, "little"))
    return bytes(out)


def _build(buf, node, pos, end, count):
    # Objects for `count` sibling nodes from pos (already checked); -> (nodes, position after)
    nodes = []
    for _ in range(count):
        pos = read_node(buf, pos, end, node)
        if node.kind == NODE_REPEAT:
            reps = node.value
            drop = node.drop_last_recovery
            body, pos = _build(buf, node, pos, end, node.children)
            nodes.append(Repeat(reps, body, drop))
            continue
        nodes.append(
            Step(
                node.kind,
                node.end,
                node.value,
                node.target_type,
                node.target_name,
                node.target_value,
                node.countdown_s,
                node.halfway,
            )
        )
    return nodes, pos


def decode(buf):
    """bytes -> Program. Raises WireError with the byte offset of what was wrong."""
    checked = ProgramBytes(buf)
    nodes, _ = _build(buf, Node(), checked.first, checked.end, checked.count)
    name = bytes(buf[3 : checked.name_end]) if checked.name_end > 2 else b""
    try:
        text = name.decode("utf-8")
    except UnicodeError:
        raise WireError("the name is not UTF-8", 3, "name")
    return Program(nodes, checked.countdown_s, checked.halfway, checked.last_rep, text)


def short_name(text):
    """`text` cut to MAX_NAME_BYTES of UTF-8 at a character boundary (with an ellipsis when
    cut): the name a program carries."""
    raw = text.encode("utf-8")
    if len(raw) <= MAX_NAME_BYTES:
        return text
    # the ellipsis takes 3 bytes; "ignore" drops a character the cut went through
    return raw[: MAX_NAME_BYTES - 3].decode("utf-8", "ignore") + "\u2026"


def program_id(buf):
    """The id a device and host both use for an encoded program: its CRC-32."""
    return int.from_bytes(buf[len(buf) - CRC_LEN :], "little")


def expanded_count(nodes):
    """How many steps the program runs, repeats unrolled and dropped recoveries left out."""
    total = 0
    for node in nodes:
        if isinstance(node, Repeat):
            per_round = expanded_count(node.body)
            total += per_round * node.count
            if node.drop_last_recovery and _ends_with_recovery(node.body):
                total -= 1
        else:
            total += 1
    return total


def _ends_with_recovery(body):
    last = body[-1]
    return isinstance(last, Step) and (last.kind == KIND_RECOVERY or last.kind == KIND_REST)
