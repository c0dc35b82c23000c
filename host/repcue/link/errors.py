"""Link failures with their own exit codes, all inside the one tree of repcue.errors.

They live here until the lead folds them into repcue/errors.py; callers should catch the
base classes (TransportError, ProtocolError) unless they need the distinction.
"""

from __future__ import annotations

from repcue.errors import ProtocolError, TransportError


class PortNotFoundError(TransportError):
    """The serial port (or the one auto-detected board) does not exist."""

    exit_code = 10

    def __init__(self, message: str, *, port: str = "") -> None:
        self.port = port
        super().__init__(message)


class PortBusyError(TransportError):
    """Another program holds the serial port."""

    exit_code = 11

    def __init__(self, message: str, *, port: str = "") -> None:
        self.port = port
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


class VersionMismatchError(ProtocolError):
    """The device speaks another protocol version than this host."""

    exit_code = 8

    def __init__(self, message: str, *, device_version: int, host_version: int) -> None:
        self.device_version = device_version
        self.host_version = host_version
        super().__init__(message, code=4)


class NoFirmwareError(ProtocolError):
    """Something answers on the port, but not the repcue firmware (e.g. a bare REPL)."""

    exit_code = 9

    def __init__(self, message: str, *, sample: bytes = b"") -> None:
        self.sample = sample
        super().__init__(message)
