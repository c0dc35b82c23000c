"""Suite-wide isolation: no test, and no `repcue` process a test starts, touches the
developer's OS keyring. The key store's own keyring tests (tests/ble/test_ble_keys.py)
override both settings with a keyring backend of their own in tmp_path."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_os_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    # os.environ, so subprocesses inherit it: repcue keeps pairing keys in the file, and
    # keyring itself (if anything asks it) gets its fail backend, never the real one
    monkeypatch.setenv("REPCUE_KEYRING", "off")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
