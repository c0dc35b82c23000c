"""The one error tree of repcue. Every failure a user can see is one of these, and its
class says the command's exit code (the README's table):

    RepcueError                          1
     ├── PlanError(line, col)            2  a plan that cannot be read or cannot run
     │    ├── ProgramLimitError             ... valid, but more than a device program holds
     │    └── FitWorkoutError               ... a FIT workout file it cannot read or run
     ├── ProfileError                    2  the athlete profile
     ├── TransportError                  3  bytes could not be moved
     │    ├── DisconnectedError          4  the link went away while in use
     │    ├── ConnectError                  a BLE connection that did not come about
     │    ├── PairingTransportError         pairing asked over something but USB
     │    ├── SimError                      the virtual device could not start, or died
     │    ├── PortNotFoundError(port)   10  no such serial port / board
     │    ├── DeviceNotFoundError       10  no such BLE device advertising
     │    └── PortBusyError(port)       11  another program holds the port
     ├── RepcueTimeoutError              5  no answer in time (also a TimeoutError)
     │    └── PairingNotAcceptedError       nobody pressed the device's button
     ├── ProtocolError(code)             6  the device said no, or spoke nonsense
     │    ├── DeviceError(code=ST_*, detail, op, device_message)
     │    │    └── NotRunningError      15  STOP on a device where no session runs
     │    ├── VersionMismatchError       8  another protocol version
     │    ├── NoFirmwareError(sample)    9  something answers, not repcue firmware
     │    └── AuthError(code=ERR_*)     12  BLE authentication refused, failed or missing
     ├── StoreError                      7  the local SQLite store
     │    └── UndatedSessionError           ... an export of a session with no date
     ├── KeyStoreError                  13  the pairing key store (file or OS keyring)
     ├── BuildError                     14  the firmware could not be built
     ├── PathError(path)                16  a path named on the command line: missing,
     │                                      already there, or not readable/writable
     ├── BrokerError(broker)            17  an MQTT broker: unreachable, TLS, refused
     │    └── BrokerAuthError               ... the user name or password (or the ACL)
     └── ExtraMissingError(extra)       18  an optional extra is not installed (charts)

Argparse's own usage errors exit with 2 as well; 0 is success, 130 Ctrl-C, and 1 a sync
that left sessions it could not read on the device (or an error without a class here).

Transport libraries' errors (pyserial, bleak, aiomqtt) are translated at the boundary
with ``raise ... from err``; data about the failure travels as fields, not only text.
"""

from __future__ import annotations

from repcue_fw.wire.opcodes import ST_VERSION


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


class FitWorkoutError(PlanError):
    """A FIT workout file that is not one, is damaged, or asks what the device cannot do
    (a step that ends on a heart rate, a repeat until a time); the message names the step."""


class ProfileError(RepcueError):
    """The athlete profile file is unreadable or holds nonsense."""

    exit_code = 2


class TransportError(RepcueError):
    """Bytes could not be moved: a port that is missing, busy, or failed."""

    exit_code = 3


class DisconnectedError(TransportError):
    """The link went away while we were using it."""

    exit_code = 4


class ConnectError(TransportError):
    """No BLE connection came about, or the device hung up while we connected (another
    central holds its slot): the transport tries again for a while before this."""


class PairingTransportError(TransportError):
    """Pairing was asked over a link other than USB serial."""


class SimError(TransportError):
    """The virtual device could not start, or died."""


class PortNotFoundError(TransportError):
    """The serial port (or the one auto-detected board) does not exist."""

    exit_code = 10

    def __init__(self, message: str, *, port: str = "") -> None:
        self.port = port
        super().__init__(message)


class DeviceNotFoundError(TransportError):
    """No repcue device answered the BLE scan (or several did for ble:auto)."""

    exit_code = 10


class PortBusyError(TransportError):
    """Another program holds the serial port."""

    exit_code = 11

    def __init__(self, message: str, *, port: str = "") -> None:
        self.port = port
        super().__init__(message)


class RepcueTimeoutError(RepcueError, TimeoutError):
    """The device did not answer in time (after retries)."""

    exit_code = 5


class PairingNotAcceptedError(RepcueTimeoutError):
    """The device asked for a button press to accept the pairing, and none came."""


class ProtocolError(RepcueError):
    """The device answered with an error status, or spoke something we cannot parse."""

    exit_code = 6

    def __init__(self, message: str, *, code: int = 0) -> None:
        self.code = code
        super().__init__(message)


class DeviceError(ProtocolError):
    """The device answered a request with an error status (opcodes.ST_*).

    ``code`` (from ProtocolError) is the status; ``detail`` its number (an expected
    offset, a limit); ``op`` the request's opcode; ``device_message`` the device's text.
    """

    def __init__(
        self, message: str, *, code: int, detail: int = 0, op: int = 0, device_message: str = ""
    ) -> None:
        self.detail = detail
        self.op = op
        self.device_message = device_message
        super().__init__(message, code=code)


class NotRunningError(DeviceError):
    """STOP was asked of a device where no session runs (status ST_NOT_RUNNING): nothing
    was stopped, nothing saved."""

    exit_code = 15


class VersionMismatchError(ProtocolError):
    """The device speaks another protocol version than this host."""

    exit_code = 8

    def __init__(self, message: str, *, device_version: int, host_version: int) -> None:
        self.device_version = device_version
        self.host_version = host_version
        super().__init__(message, code=ST_VERSION)


class NoFirmwareError(ProtocolError):
    """Something answers on the port, but not the repcue firmware (e.g. a bare REPL)."""

    exit_code = 9

    def __init__(self, message: str, *, sample: bytes = b"") -> None:
        self.sample = sample
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


class KeyStoreError(RepcueError):
    """The key file is unreadable, malformed or readable by others, or the OS keyring
    cannot be used or lacks a key the index says it holds."""

    exit_code = 13


class BuildError(RepcueError):
    """The firmware could not be cross-compiled or bundled."""

    exit_code = 14


class PathError(RepcueError):
    """A file or folder the user named is missing, is already there (and would be
    overwritten), is a folder where a file is wanted, or cannot be read or written.
    ``path`` is the path as named."""

    exit_code = 16

    def __init__(self, message: str, *, path: str = "") -> None:
        self.path = path
        super().__init__(message)


class BrokerError(RepcueError):
    """An MQTT broker could not be used: unreachable, a TLS handshake that failed (the
    certificate is not the CA's), or a broker that refused the connection. ``broker`` is
    "host:port". `repcue sync --mqtt` exits with it after the sessions are stored."""

    exit_code = 17

    def __init__(self, message: str, *, broker: str = "") -> None:
        self.broker = broker
        super().__init__(message)


class BrokerAuthError(BrokerError):
    """The broker refused the user name or password (CONNACK 4 or 5)."""


class UndatedSessionError(StoreError):
    """A stored session has no date (the device's clock was never set when it ran), and
    an export needs one. ``row_id`` is the session's number in the store."""

    def __init__(self, message: str, *, row_id: int = 0) -> None:
        self.row_id = row_id
        super().__init__(message)


class ExtraMissingError(RepcueError):
    """A command option needs an optional extra that is not installed (matplotlib for
    charts). ``extra`` is its name: the message says the pip command that installs it."""

    exit_code = 18

    def __init__(self, message: str, *, extra: str = "") -> None:
        self.extra = extra
        super().__init__(message)
