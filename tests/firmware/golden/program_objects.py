# Program objects (wire/host/program.py: Program, Step, Repeat) built in code, made runnable
# for the engine, which runs programs from their bytes only: checked here with errors that
# name the node, then encoded. Tests build programs this way (harness.Engine packs them);
# the host compiles plans to bytes with their limits checked (repcue.plan.compile).
from repcue_fw.wire.host import program as wire_program
from repcue_fw.wire.program import MAX_DEPTH, ProgramBytes
from repcue_fw.wire.steps import MAX_STEP_MS, EngineError, expected_ms


def check(nodes, depth=0, counter=None):
    """Raise EngineError if the engine cannot run these nodes (depth, empty or zero repeats,
    a step over 24 h), naming the offending node by its preorder index."""
    if counter is None:
        counter = [0]
    if not nodes:
        raise EngineError("an empty step list", "nodes", counter[0] - 1)
    for node in nodes:
        where = counter[0]
        counter[0] += 1
        if isinstance(node, wire_program.Repeat):
            if depth >= MAX_DEPTH:
                raise EngineError("repeats nested deeper than " + str(MAX_DEPTH), "depth", where)
            if not isinstance(node.count, int) or node.count < 1:
                raise EngineError(
                    "repeat count must be 1 or more, got " + repr(node.count),
                    "repeat.count",
                    where,
                )
            check(node.body, depth + 1, counter)
            continue
        if not isinstance(node.value, int) or node.value < 0:
            raise EngineError(
                "step value must be a whole number >= 0, got " + repr(node.value),
                "step.value",
                where,
            )
        # Compare before multiplying: a huge value would overflow a board's small ints.
        if node.value > MAX_STEP_MS // 1000 or expected_ms(node) > MAX_STEP_MS:
            raise EngineError("a step longer than 24 h", "step.value", where)


def pack(program):
    """A Program object -> the ProgramBytes the engine runs. Raises EngineError for what the
    engine cannot run, WireError for what the program format cannot hold."""
    check(program.nodes)
    return ProgramBytes(wire_program.encode(program))
