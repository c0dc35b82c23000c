"""The OS keyring that may hold the host's pairing keys (repcue.link.ble.keys decides when).

Only the `keyring` library's public API: macOS Keychain, Windows Credential Locker, Secret
Service or KWallet on Linux, or whatever backend the user configured for keyring
(``keyringrc.cfg``, ``$PYTHON_KEYRING_BACKEND``). One entry per paired device: service
``repcue``, username the device id, password the 32-byte key in hex.

keyring ranks its backends by priority: below 0 the null backend, 0 the fail backend (no
keyring at all), between 0 and 1 "suitable but not recommended" (the plaintext and
encrypted files of keyrings.alt), 1 or more "recommended" (the OS keyrings). A chainer is
only as good as the best backend it chains. The errors keyring raises are left to the
caller to translate: keyring.errors.KeyringError and its subclasses, and whatever a
third-party backend lets through.
"""

from __future__ import annotations

import keyring
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend

SERVICE = "repcue"
RECOMMENDED_PRIORITY = 1.0  # keyring's rule of thumb: 1 or more is recommended


def active_backend() -> KeyringBackend:
    """keyring's backend: the configured one, else the best one it detected."""
    return keyring.get_keyring()


def priority(backend: KeyringBackend) -> float:
    """The backend's priority; a chainer's is its best chained backend's."""
    if isinstance(backend, ChainerBackend):
        return max((float(b.priority) for b in backend.backends), default=-1.0)
    return float(backend.priority)


def backend_name(backend: KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def read_key(backend: KeyringBackend, device_id: str) -> str | None:
    """The device's key as stored (hex), or None if the keyring has no entry for it."""
    return backend.get_password(SERVICE, device_id)


def write_key(backend: KeyringBackend, device_id: str, key: bytes) -> None:
    backend.set_password(SERVICE, device_id, key.hex())


def delete_key(backend: KeyringBackend, device_id: str) -> None:
    """Delete the device's entry; an entry already gone is not an error."""
    if backend.get_password(SERVICE, device_id) is not None:
        backend.delete_password(SERVICE, device_id)
