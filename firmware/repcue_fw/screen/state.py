# What the screen should show now, as small ints in scr.cur (V_* below), and how long until
# that changes by itself (the countdown's next second, the end of the finished screen).
# Reads the runner's engine; never touches the panel and allocates nothing, except the idle
# facts (program name, unsynced sessions, battery), gathered at most every _IDLE_MS.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


import os

from repcue_fw.wire import program as wp

ST_IDLE = const(0)
ST_RUN = const(1)
ST_PAUSED = const(2)
ST_DONE = const(3)

V_ST = const(0)
V_KIND = const(1)  # the step kind; ST_DONE: the session's end reason
V_REPK = const(2)  # 1: rep i/n of the innermost repeat, 0: step i/n
V_REPI = const(3)
V_REPN = const(4)
V_SECS = const(5)  # the big number, whole seconds
V_TT = const(6)  # target type and value
V_TV = const(7)
V_GHOST = const(8)  # metres the ghost has run (>= 0), or -1 - its lead in s once it finished
V_NAME = const(9)  # bumped when the program's name changes
V_UNSYNC = const(10)
V_BAT = const(11)  # percent, -1: unknown
N_VALUES = const(12)
NO_GHOST = const(-1000000)

_DONE_SHOW_MS = const(60000)  # the finished screen, then the idle one
_IDLE_MS = const(60000)  # the idle facts are read again this often (the battery)
_IDLE_CHECK_MS = const(2000)  # and sooner when a cheap look says they changed
_SLACK_MS = const(2)  # wake just after the second turns, not just before


def refresh(scr, now):
    """Fill scr.cur for tick `now`; return ms until it changes by itself (-1: only an event
    changes it)."""
    cur = scr.cur
    runner = scr.runner
    eng = runner.engine
    if eng is not None and eng.running and eng.step is not None:
        return _session(scr, cur, eng, now)
    if scr.done and scr.board.ticks_diff(now, scr.done_at) < _DONE_SHOW_MS:
        cur[V_ST] = ST_DONE
        cur[V_KIND] = scr.done_reason
        cur[V_SECS] = scr.done_ms // 1000
        cur[V_GHOST] = NO_GHOST
        return _DONE_SHOW_MS - scr.board.ticks_diff(now, scr.done_at) + _SLACK_MS
    scr.done = False
    cur[V_ST] = ST_IDLE
    cur[V_GHOST] = NO_GHOST
    since = scr.board.ticks_diff(now, scr.idle_at)
    if scr.idle_stale or _idle_moved(scr) or since >= _IDLE_MS or since < 0:
        _idle_facts(scr, cur)
        scr.idle_at = now
        scr.idle_stale = False
    return _IDLE_CHECK_MS


def _idle_moved(scr):
    # a program installed, a session recorded or one acknowledged: compared, not computed
    # (no flash read, nothing allocated), then kept
    app = scr.app
    j = scr.runner.journal
    pid = app._program_id if app is not None else 0
    nid = j.next_id if j is not None else 0
    acked = len(j.acked_ids) if j is not None else 0
    mark = scr.idle_mark
    if pid != mark[0] or nid != mark[1] or acked != mark[2]:
        mark[0] = pid
        mark[1] = nid
        mark[2] = acked
        return True
    return False


def _session(scr, cur, eng, now):
    board = scr.board
    step = eng.step
    paused = eng.paused
    cur[V_ST] = ST_PAUSED if paused else ST_RUN
    cur[V_KIND] = step.kind
    cursor = eng._cursor  # the repeat the step is in (the engine keeps no copy)
    d = cursor.depth
    if d > 0:
        cur[V_REPK] = 1
        cur[V_REPI] = cursor._round[d] + 1
        cur[V_REPN] = cursor._reps[d]
    else:
        cur[V_REPK] = 0
        cur[V_REPI] = eng.step_index + 1
        cur[V_REPN] = eng.planned_steps
    cur[V_TT] = step.target_type
    cur[V_TV] = step.target_value
    elapsed = scr.paused_ms if paused else board.ticks_diff(now, eng.step_start)
    if elapsed < 0:
        elapsed = 0
    exp = eng.step_expected_ms
    ghost = NO_GHOST
    wait = -1
    if step.end == wp.END_OPEN or exp <= 0:  # nothing to count down to: count up
        cur[V_SECS] = elapsed // 1000
        wait = 1000 - elapsed % 1000
    else:
        left = exp - elapsed
        if left > 0:
            secs = (left + 999) // 1000
            cur[V_SECS] = secs
            wait = left - (secs - 1) * 1000
        else:
            cur[V_SECS] = 0
        if step.end == wp.END_DISTANCE:  # the ghost runs the target pace
            if left > 0:
                ghost = elapsed * 10 // step.target_value // 10 * 10
                wait = _min(wait, 1000 - elapsed % 1000)
            else:  # it has finished: its lead grows until the lap press
                ghost = -1 - (-left) // 1000
                wait = 1000 - (-left) % 1000
    cur[V_GHOST] = ghost
    if paused:
        return -1
    return wait + _SLACK_MS


def _min(a, b):
    return a if a < b else b


def _idle_facts(scr, cur):
    # reads flash: only on the idle screen, at most every _IDLE_MS
    journal = scr.runner.journal
    data = journal.program_bytes() if journal is not None else None
    n = 0
    if data is not None:
        from repcue_fw.screen.fields import copy_name

        n = copy_name(scr.new_name, data, 3, data[2] + 3 if data[0] >= 2 else 3)
        if n == 0:
            n = copy_name(scr.new_name, b"PROGRAM", 0, 7)
    if n != scr.name_n or scr.new_name[:n] != scr.name[:n]:
        scr.name[:n] = scr.new_name[:n]
        scr.name_n = n
        cur[V_NAME] += 1
    cur[V_UNSYNC] = _unsynced(journal)
    bat = scr.board.battery_pct()
    cur[V_BAT] = -1 if bat is None else bat


def _unsynced(journal):
    if journal is None:
        return 0
    from repcue_fw.journal.files import S_TEMP, parse_name

    n = 0
    for entry in os.ilistdir(journal.dir):
        sid, state = parse_name(entry[0])
        if sid > 0 and state != S_TEMP and sid not in journal.acked_ids:
            n += 1
    return n
