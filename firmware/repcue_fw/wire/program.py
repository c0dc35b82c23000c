# The program format, the part the device runs: constants, the check of a whole encoded
# program, and a reader of one node in place. The firmware runs a program straight from its
# bytes (ProgramBytes; a 100-step program costs its ~400 bytes, not an object per step).
# The host's model, encoder and object decoder (wire/host/program.py) build on this module, so
# the layout has one source.
#
# Layout (docs/protocol.md, "Program format", is the spec):
#   u8  version (2; version 1 has no name and is still read)
#   u8  flags: bit0 halfway cue, bit1 last-rep cue, bits4-7 countdown seconds (0-15)
#   u8  name length (0-32), then the plan's name in UTF-8 (version 2)
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

FORMAT_VERSION = const(2)
MAX_NAME_BYTES = const(32)

KIND_WARMUP = const(0)
KIND_WORK = const(1)
KIND_RECOVERY = const(2)
KIND_REST = const(3)
KIND_COOLDOWN = const(4)
NODE_REPEAT = const(7)  # the header kind of a repeat block

END_TIME = const(0)
END_DISTANCE = const(1)
END_OPEN = const(2)

TARGET_NONE = const(0)
TARGET_PACE = const(1)  # value: tenths of a second per km, 0 = not known yet
TARGET_EFFORT = const(2)  # value: an EFFORT_* code
TARGET_RPE = const(3)  # value: 1-10
TARGET_HR_ZONE = const(4)  # value: 1-5
MAX_PACE_NAME = const(8)  # pace names 1-8 (wire/host/program.py PACE_NAMES); 0: an explicit pace

MAX_NODES = const(128)
MAX_DEPTH = const(4)
MAX_PROGRAM_BYTES = const(1024)
MAX_REPEAT = const(999)
MAX_COUNTDOWN_S = const(15)
CRC_LEN = const(4)
MIN_PROGRAM_BYTES = const(7)  # version, flags, count, CRC (version 1)

# Bits of the flags byte, the node header and the cue byte.
FLAG_HALFWAY = const(0x01)
FLAG_LAST_REP = const(0x02)
HDR_DROP_LAST = const(0x08)  # repeat
HDR_TARGET = const(0x20)  # step
HDR_CUE = const(0x40)  # step
CUE_COUNTDOWN_SET = const(0x10)
CUE_HALFWAY_SET = const(0x20)
CUE_HALFWAY_ON = const(0x40)


class Node:
    """One node, read in place by read_node (which rewrites every field)."""

    def __init__(self):
        self.kind = 0  # a KIND_*, or NODE_REPEAT
        self.end = 0
        self.value = 0  # s, m or estimated s; a repeat: its round count
        self.target_type = TARGET_NONE
        self.target_name = 0
        self.target_value = 0
        self.countdown_s = None  # None: the program's default
        self.halfway = None  # None: the program's default
        self.children = 0  # a repeat: how many nodes its body has
        self.drop_last_recovery = False
        self.at = [0]  # read position (varint.read's cell)


def read_node(buf, pos, end, node):
    """Read the node at buf[pos:end] into `node`; return the position after it (for a repeat
    that is its first child). Allocates nothing; raises WireError naming the field."""
    at = node.at
    start = pos
    if pos >= end:
        raise WireError("program ends inside a node list", pos, "nodes")
    header = buf[pos]
    at[0] = pos + 1
    kind = header & 0x07
    node.kind = kind
    if kind == NODE_REPEAT:
        if header & 0xF0:
            raise WireError("reserved repeat bits set", start, "repeat.header")
        reps = varint.read(buf, at, end, "repeat.count")
        children = varint.read(buf, at, end, "repeat.body")
        if reps < 1 or reps > MAX_REPEAT or children < 1:
            raise WireError("bad repeat count or empty body", start, "repeat.count")
        node.value = reps
        node.children = children
        node.drop_last_recovery = bool(header & HDR_DROP_LAST)
        return at[0]
    step_end = (header >> 3) & 0x03
    if kind > KIND_COOLDOWN or step_end > END_OPEN or header & 0x80:
        raise WireError("bad step header 0x" + "%02x" % header, start, "step.header")
    node.end = step_end
    node.value = varint.read(buf, at, end, "step.value")
    node.target_type = TARGET_NONE
    node.target_name = 0
    node.target_value = 0
    node.countdown_s = None
    node.halfway = None
    if header & HDR_TARGET:
        pos = at[0]
        if pos >= end:
            raise WireError("truncated target", pos, "step.target_type")
        tb = buf[pos]
        t_type = tb & 0x07
        t_name = tb >> 3
        if t_type < TARGET_PACE or t_type > TARGET_HR_ZONE or t_name > MAX_PACE_NAME:
            raise WireError("bad target byte", pos, "step.target_type")
        node.target_type = t_type
        node.target_name = t_name
        at[0] = pos + 1
        node.target_value = varint.read(buf, at, end, "step.target_value")
    if header & HDR_CUE:
        pos = at[0]
        if pos >= end:
            raise WireError("truncated cue byte", pos, "step.cue")
        cue = buf[pos]
        at[0] = pos + 1
        if cue & 0x80:
            raise WireError("reserved cue bit set", pos, "step.cue")
        if cue & CUE_COUNTDOWN_SET:
            node.countdown_s = cue & 0x0F
        if cue & CUE_HALFWAY_SET:
            node.halfway = bool(cue & CUE_HALFWAY_ON)
    return at[0]


def _check_nodes(buf, node, pos, end, count, depth, counter):
    # Read `count` sibling nodes (and their bodies) from pos; return the position after them.
    if depth > MAX_DEPTH:
        raise WireError("repeats nested deeper than " + str(MAX_DEPTH), pos, "depth")
    for _ in range(count):
        counter[0] += 1
        if counter[0] > MAX_NODES:
            raise WireError("more than " + str(MAX_NODES) + " nodes", pos, "nodes")
        pos = read_node(buf, pos, end, node)
        if node.kind == NODE_REPEAT:
            pos = _check_nodes(buf, node, pos, end, node.children, depth + 1, counter)
    return pos


class ProgramBytes:
    """A checked encoded program, read in place: what the engine runs.

    data: the bytes; id: their CRC-32 trailer (the program id); countdown_s, halfway,
    last_rep: the program-wide cue settings (the device may override countdown_s);
    name_end: where the plan's name ends (it starts at byte 3); first: where the first
    top-level node starts; count: how many top-level nodes; end: where the nodes end (the
    CRC). Raises WireError with the byte offset of what is wrong."""

    def __init__(self, data):
        n = len(data)
        if n < MIN_PROGRAM_BYTES:
            raise WireError("program too short: " + str(n) + " bytes", 0, "size")
        if n > MAX_PROGRAM_BYTES:
            raise WireError("program larger than " + str(MAX_PROGRAM_BYTES) + " bytes", 0, "size")
        end = n - CRC_LEN
        crc = binascii.crc32(memoryview(data)[:end]) & 0xFFFFFFFF
        if crc != int.from_bytes(data[end:], "little"):
            raise WireError("program CRC mismatch", end, "crc")
        version = data[0]
        if version < 1 or version > FORMAT_VERSION:
            raise WireError("unsupported program version " + str(version), 0, "version")
        flags = data[1]
        if flags & 0x0C:
            raise WireError("reserved flag bits set", 1, "flags")
        name_end = 2
        if version > 1:
            name_end = 3 + data[2]
            if data[2] > MAX_NAME_BYTES or name_end >= end:
                raise WireError("bad name length " + str(data[2]), 2, "name")
        node = Node()
        node.at[0] = name_end
        count = varint.read(data, node.at, end, "nodes")
        first = node.at[0]
        if count < 1:
            raise WireError("a program needs at least one step", name_end, "nodes")
        pos = _check_nodes(data, node, first, end, count, 0, [0])
        if pos != end:
            raise WireError("trailing bytes after the last node", pos, "nodes")
        self.data = data
        self.name_end = name_end  # the name is data[3:name_end] (version 2)
        self.id = crc
        self.countdown_s = flags >> 4
        self.halfway = bool(flags & FLAG_HALFWAY)
        self.last_rep = bool(flags & FLAG_LAST_REP)
        self.first = first
        self.count = count
        self.end = end
