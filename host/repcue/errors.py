"""The one error tree of repcue. Every failure a user can see is one of these.

Transport libraries' errors (pyserial, bleak, aiomqtt) are translated at the boundary
with ``raise ... from err``; data about the failure travels as fields, not only text.
"""

from __future__ import annotations


class RepcueError(Exception):
    """Base of every error repcue raises on purpose."""

    exit_code = 1


class PlanError(RepcueError):
    """A plan that cannot be understood or cannot run on a device.

    ``line`` and ``col`` are 1-based; ``source_line`` is the text of that line so the
    CLI can draw a caret under the spot.
    """

    exit_code = 2

    def __init__(self, message: str, *, line: int = 0, col: int = 0, source_line: str = "") -> None:
        self.message = message
        self.line = line
        self.col = col
        self.source_line = source_line
        where = f"line {line}, column {col}: " if line else ""
        super().__init__(where + message)

    def render(self) -> str:
        """The message with the offending line and a caret under the column."""
        if not self.line:
            return f"plan error: {self.message}"
        caret = " " * max(self.col - 1, 0) + "^"
        return (
            f"plan error at line {self.line}, column {self.col}: {self.message}\n"
            f"  {self.source_line}\n  {caret}"
        )


class ProgramLimitError(PlanError):
    """A valid plan that exceeds what the device program format can hold."""


class ProfileError(RepcueError):
    """The athlete profile file is unreadable or holds nonsense."""

    exit_code = 2


class TransportError(RepcueError):
    """Bytes could not be moved: a port that is missing, busy, or failed."""

    exit_code = 3


class DisconnectedError(TransportError):
    """The link went away while we were using it."""

    exit_code = 4


class RepcueTimeoutError(RepcueError, TimeoutError):
    """The device did not answer in time (after retries)."""

    exit_code = 5


class ProtocolError(RepcueError):
    """The device answered with an error status, or spoke something we cannot parse."""

    exit_code = 6

    def __init__(self, message: str, *, code: int = 0) -> None:
        self.code = code
        super().__init__(message)


class AuthError(ProtocolError):
    """Bluetooth LE authentication refused, failed or missing: the device refused our
    proof, a device could not prove it holds our key (an impostor), or something other
    than HELLO was asked of a link that is not authenticated. ``code`` is the BLE record
    layer's ERR_* (ERR_NOT_PAIRED, ERR_BAD_PROOF, ...), 0 when the host refused itself."""

    exit_code = 12


class StoreError(RepcueError):
    """The local SQLite store is unusable (wrong schema version, locked, corrupt)."""

    exit_code = 7
