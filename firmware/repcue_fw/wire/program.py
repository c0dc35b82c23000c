# Device program codec: the compact, versioned, CRC-checked form of a workout.
#
# Layout (docs/protocol.md, "Program format", is the spec):
#   u8  version (1)
#   u8  flags: bit0 halfway cue, bit1 last-rep cue, bits4-7 countdown seconds (0-15)
#   var top-level node count
#   nodes, preorder:
#     u8 header: bits0-2 kind (0-4 a step kind, 7 a repeat block)
#       step:   bits3-4 end (0 time, 1 distance, 2 open), bit5 target follows, bit6 cue byte follows
#               var value: seconds (time), metres (distance), estimated seconds or 0 (open)
#               [u8 target type bits0-2 | pace name bits3-6 ; var target value]
#               [u8 cue: bits0-3 countdown s, bit4 countdown set, bit5 halfway set, bit6 halfway]
#       repeat: bit3 drop the body's trailing recovery/rest in the last round
#               var count ; var number of child nodes
#   u32 CRC-32 (zlib polynomial) of everything before it, little-endian
#
# Repeats stay loops: 40x(200m, 200m jog) is three nodes, never eighty steps.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import binascii

from repcue_fw.wire import WireError, varint

FORMAT_VERSION = const(1)

KIND_WARMUP = const(0)
KIND_WORK = const(1)
KIND_RECOVERY = const(2)
KIND_REST = const(3)
KIND_COOLDOWN = const(4)
_NODE_REPEAT = const(7)
KIND_NAMES = ("warmup", "work", "recovery", "rest", "cooldown")

END_TIME = const(0)
END_DISTANCE = const(1)
END_OPEN = const(2)
END_NAMES = ("time", "distance", "open")

TARGET_NONE = const(0)
TARGET_PACE = const(1)  # value: tenths of a second per km, 0 = not known yet
TARGET_EFFORT = const(2)  # value: an EFFORT_* code
TARGET_RPE = const(3)  # value: 1-10
TARGET_HR_ZONE = const(4)  # value: 1-5

# Pace names (the "name" of a pace target); 0 is an explicit pace such as 3:45/km.
PACE_NAMES = ("", "mile", "3k", "5k", "10k", "half", "marathon", "threshold", "easy")
EFFORT_NAMES = ("", "all out", "hard", "steady", "easy", "float", "jog", "walk")

MAX_NODES = const(128)
MAX_DEPTH = const(4)
MAX_PROGRAM_BYTES = const(1024)
MAX_REPEAT = const(999)
MAX_COUNTDOWN_S = const(15)
_CRC_LEN = const(4)


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
    """A whole workout as the device runs it."""

    def __init__(self, nodes, countdown_s=3, halfway=False, last_rep=True):
        self.nodes = nodes
        self.countdown_s = countdown_s
        self.halfway = halfway
        self.last_rep = last_rep

    def __eq__(self, other):
        return (
            isinstance(other, Program)
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
            + ")"
        )


def _check_range(value, low, high, field):
    if not isinstance(value, int) or value < low or value > high:
        raise WireError(
            field + " must be " + str(low) + ".." + str(high) + ", got " + repr(value), -1, field
        )


def _encode_nodes(out, nodes, depth, counter):
    if depth > MAX_DEPTH:
        raise WireError("repeats nested deeper than " + str(MAX_DEPTH), -1, "depth")
    for node in nodes:
        counter[0] += 1
        if counter[0] > MAX_NODES:
            raise WireError("more than " + str(MAX_NODES) + " steps and repeats", -1, "nodes")
        if isinstance(node, Repeat):
            _check_range(node.count, 1, MAX_REPEAT, "repeat.count")
            if not node.body:
                raise WireError("a repeat block needs at least one step", -1, "repeat.body")
            out.append(_NODE_REPEAT | (0x08 if node.drop_last_recovery else 0))
            varint.put(out, node.count, "repeat.count")
            varint.put(out, len(node.body), "repeat.body")
            _encode_nodes(out, node.body, depth + 1, counter)
            continue
        _check_range(node.kind, KIND_WARMUP, KIND_COOLDOWN, "step.kind")
        _check_range(node.end, END_TIME, END_OPEN, "step.end")
        has_target = node.target_type != TARGET_NONE
        has_cue = node.countdown_s is not None or node.halfway is not None
        out.append(
            node.kind | (node.end << 3) | (0x20 if has_target else 0) | (0x40 if has_cue else 0)
        )
        varint.put(out, node.value, "step.value")
        if has_target:
            _check_range(node.target_type, TARGET_PACE, TARGET_HR_ZONE, "step.target_type")
            _check_range(node.target_name, 0, len(PACE_NAMES) - 1, "step.target_name")
            out.append(node.target_type | (node.target_name << 3))
            varint.put(out, node.target_value, "step.target_value")
        if has_cue:
            cue = 0
            if node.countdown_s is not None:
                _check_range(node.countdown_s, 0, MAX_COUNTDOWN_S, "step.countdown_s")
                cue = node.countdown_s | 0x10
            if node.halfway is not None:
                cue |= 0x20 | (0x40 if node.halfway else 0)
            out.append(cue)


def encode(program):
    """Program -> bytes. Raises WireError naming the field that does not fit."""
    _check_range(program.countdown_s, 0, MAX_COUNTDOWN_S, "countdown_s")
    if not program.nodes:
        raise WireError("a program needs at least one step", -1, "nodes")
    out = bytearray()
    out.append(FORMAT_VERSION)
    out.append(
        (1 if program.halfway else 0) | (2 if program.last_rep else 0) | (program.countdown_s << 4)
    )
    varint.put(out, len(program.nodes), "nodes")
    _encode_nodes(out, program.nodes, 0, [0])
    if len(out) + _CRC_LEN > MAX_PROGRAM_BYTES:
        raise WireError(
            "program is "
            + str(len(out) + _CRC_LEN)
            + " bytes, the limit is "
            + str(MAX_PROGRAM_BYTES),
            -1,
            "size",
        )
    crc = binascii.crc32(out) & 0xFFFFFFFF
    out.extend(crc.to_bytes(4, "little"))
    return bytes(out)


def _decode_nodes(buf, pos, end, count, depth, counter):
    if depth > MAX_DEPTH:
        raise WireError("repeats nested deeper than " + str(MAX_DEPTH), pos, "depth")
    nodes = []
    for _ in range(count):
        if pos >= end:
            raise WireError("program ends inside a node list", pos, "nodes")
        counter[0] += 1
        if counter[0] > MAX_NODES:
            raise WireError("more than " + str(MAX_NODES) + " nodes", pos, "nodes")
        start = pos
        header = buf[pos]
        pos += 1
        kind = header & 0x07
        if kind == _NODE_REPEAT:
            if header & 0xF0:
                raise WireError("reserved repeat bits set", start, "repeat.header")
            reps, pos = varint.get(buf, pos, end, "repeat.count")
            children, pos = varint.get(buf, pos, end, "repeat.body")
            if reps < 1 or reps > MAX_REPEAT or children < 1:
                raise WireError("bad repeat count or empty body", start, "repeat.count")
            body, pos = _decode_nodes(buf, pos, end, children, depth + 1, counter)
            nodes.append(Repeat(reps, body, bool(header & 0x08)))
            continue
        step_end = (header >> 3) & 0x03
        if kind > KIND_COOLDOWN or step_end > END_OPEN or header & 0x80:
            raise WireError("bad step header 0x" + "%02x" % header, start, "step.header")
        value, pos = varint.get(buf, pos, end, "step.value")
        step = Step(kind, step_end, value)
        if header & 0x20:
            if pos >= end:
                raise WireError("truncated target", pos, "step.target_type")
            tb = buf[pos]
            t_type = tb & 0x07
            t_name = tb >> 3
            if t_type < TARGET_PACE or t_type > TARGET_HR_ZONE or t_name >= len(PACE_NAMES):
                raise WireError("bad target byte", pos, "step.target_type")
            step.target_type = t_type
            step.target_name = t_name
            step.target_value, pos = varint.get(buf, pos + 1, end, "step.target_value")
        if header & 0x40:
            if pos >= end:
                raise WireError("truncated cue byte", pos, "step.cue")
            cue = buf[pos]
            pos += 1
            if cue & 0x80:
                raise WireError("reserved cue bit set", pos - 1, "step.cue")
            if cue & 0x10:
                step.countdown_s = cue & 0x0F
            if cue & 0x20:
                step.halfway = bool(cue & 0x40)
        nodes.append(step)
    return nodes, pos


def decode(buf):
    """bytes -> Program. Raises WireError with the byte offset of what was wrong."""
    n = len(buf)
    if n < 3 + _CRC_LEN:
        raise WireError("program too short: " + str(n) + " bytes", 0, "size")
    if n > MAX_PROGRAM_BYTES:
        raise WireError("program larger than " + str(MAX_PROGRAM_BYTES) + " bytes", 0, "size")
    end = n - _CRC_LEN
    crc = binascii.crc32(buf[:end]) & 0xFFFFFFFF
    if crc != int.from_bytes(buf[end:], "little"):
        raise WireError("program CRC mismatch", end, "crc")
    if buf[0] != FORMAT_VERSION:
        raise WireError("unsupported program version " + str(buf[0]), 0, "version")
    flags = buf[1]
    if flags & 0x0C:
        raise WireError("reserved flag bits set", 1, "flags")
    count, pos = varint.get(buf, 2, end, "nodes")
    nodes, pos = _decode_nodes(buf, pos, end, count, 0, [0])
    if pos != end:
        raise WireError("trailing bytes after the last node", pos, "nodes")
    return Program(nodes, flags >> 4, bool(flags & 1), bool(flags & 2))


def program_id(buf):
    """The id a device and host both use for an encoded program: its CRC-32."""
    return int.from_bytes(buf[len(buf) - _CRC_LEN :], "little")


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
