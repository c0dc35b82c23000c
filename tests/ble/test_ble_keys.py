"""The host's key store with the OS keyring: the key goes to a usable keyring and the 0600
file is the index; without one (keyring's fail or null backend) the file holds the key as
before; REPCUE_KEYRING=off|on; a key missing from the keyring is a clear KeyStoreError.

The keyring here is keyrings.alt's PlaintextKeyring, a real backend whose file is in
tmp_path, set through keyring's public `set_keyring` in every test (tests/conftest.py
keeps the rest of the suite off the keyring). It is "not recommended" (priority 0.5): the
tests that need a recommended one, as the OS keyrings are, raise its priority to 1.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyrings.alt.file import PlaintextKeyring

from repcue.errors import KeyStoreError
from repcue.link.ble import os_keyring
from repcue.link.ble.keys import KeyStore, new_key

DEV = "51b1e00001"
KeyringFactory = Callable[..., KeyringBackend]


@pytest.fixture
def key_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's store (KeyStore() with no path) lives in tmp_path."""
    path = tmp_path / "config" / "ble_keys.json"
    monkeypatch.setenv("REPCUE_KEYS", str(path))
    monkeypatch.setenv("REPCUE_KEYRING", "auto")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # keyrings.alt's default
    return path


@pytest.fixture
def use_keyring(tmp_path: Path, key_path: Path) -> Iterator[KeyringFactory]:
    """Make a backend keyring's active one: `use_keyring()` a PlaintextKeyring in tmp_path,
    `use_keyring(priority=1)` the same as a recommended one, `use_keyring(fail.Keyring())`."""

    def use(backend: KeyringBackend | None = None, *, priority: float | None = None) -> Any:
        if backend is None:
            backend = PlaintextKeyring()
            backend.file_path = str(tmp_path / "keyring" / "keyring_pass.cfg")
            if priority is not None:
                backend.priority = priority  # an instance attribute: the class is untouched
        keyring.set_keyring(backend)
        return backend

    use(fail.Keyring())
    yield use
    keyring.set_keyring(fail.Keyring())


def index(path: Path) -> dict[str, dict[str, object]]:
    entries: dict[str, dict[str, object]] = json.loads(path.read_text())["devices"]
    return entries


def assert_private(path: Path) -> None:
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_recommended_keyring_holds_the_key_and_the_file_only_the_index(
    use_keyring: KeyringFactory, key_path: Path
) -> None:
    use_keyring(priority=1)
    keys, key = KeyStore(), new_key()
    keys.put(DEV, key, name="repcue-e001")
    text = key_path.read_text()
    assert key.hex() not in text and key.hex().upper() not in text
    assert key not in key_path.read_bytes()
    assert index(key_path)[DEV]["key_in"] == "keyring" and "key" not in index(key_path)[DEV]
    assert keyring.get_password(os_keyring.SERVICE, DEV) == key.hex()
    assert_private(key_path)
    assert keys.get(DEV) == key
    assert keys.get(DEV.upper()) == key
    found = keys.find(name="repcue-e001")
    assert found is not None and found.key is None and found.key_in == "keyring"
    keys.remember_address(DEV, "C0:FF:EE:00:00:01")  # the index changes, the key stays
    assert keys.get(DEV) == key and index(key_path)[DEV]["address"] == "C0:FF:EE:00:00:01"
    assert keys.remove(DEV) is True
    assert keyring.get_password(os_keyring.SERVICE, DEV) is None
    assert index(key_path) == {}
    assert keys.get(DEV) is None and keys.remove(DEV) is False


def test_on_takes_a_not_recommended_keyring_auto_passes_it_over(
    use_keyring: KeyringFactory, key_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_keyring()  # keyrings.alt's plaintext file: priority 0.5
    key = new_key()
    KeyStore().put(DEV, key)  # auto: no better than our own 0600 file, so the file
    assert index(key_path)[DEV]["key"] == key.hex()
    assert keyring.get_password(os_keyring.SERVICE, DEV) is None
    monkeypatch.setenv("REPCUE_KEYRING", "on")
    KeyStore().put(DEV, key)
    assert index(key_path)[DEV]["key_in"] == "keyring"
    assert keyring.get_password(os_keyring.SERVICE, DEV) == key.hex()
    assert KeyStore().get(DEV) == key


@pytest.mark.parametrize("none", [fail.Keyring, null.Keyring])
def test_without_a_usable_keyring_auto_keeps_the_key_in_the_0600_file_and_on_refuses(
    use_keyring: KeyringFactory,
    key_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    none: type[KeyringBackend],
) -> None:
    use_keyring(none())
    keys, key = KeyStore(), new_key()
    keys.devices()  # pairing's check before it changes the device: fine
    keys.put(DEV, key, name="repcue-e001")
    assert index(key_path)[DEV]["key"] == key.hex()
    assert_private(key_path)
    assert keys.get(DEV) == key
    monkeypatch.setenv("REPCUE_KEYRING", "on")
    with pytest.raises(KeyStoreError, match="no usable OS keyring") as refused:
        keys.devices()  # pairing stops before the device gets a key
    assert f"{none.__module__}.Keyring" in str(refused.value)
    assert refused.value.exit_code == 13
    with pytest.raises(KeyStoreError, match="no usable OS keyring"):
        keys.put(DEV, new_key())
    assert keys.get(DEV) == key  # inline keys keep working under on


def test_off_keeps_the_key_in_the_file_even_with_a_usable_keyring(
    use_keyring: KeyringFactory, key_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_keyring(priority=1)
    monkeypatch.setenv("REPCUE_KEYRING", "off")
    keys, key = KeyStore(), new_key()
    keys.put(DEV, key)
    assert index(key_path)[DEV]["key"] == key.hex()
    assert keyring.get_password(os_keyring.SERVICE, DEV) is None
    assert keys.get(DEV) == key and keys.remove(DEV) is True


def test_a_store_at_an_explicit_path_stays_off_the_keyring_unless_told(
    use_keyring: KeyringFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_keyring(priority=1)
    monkeypatch.setenv("REPCUE_KEYRING", "on")
    private = KeyStore(tmp_path / "demo.json")  # a throwaway store, as the demo's
    private.put(DEV, new_key())
    assert "key" in index(private.path)[DEV]
    assert keyring.get_password(os_keyring.SERVICE, DEV) is None
    told = KeyStore(tmp_path / "told.json", keyring="auto")
    told.put(DEV, key := new_key())
    assert keyring.get_password(os_keyring.SERVICE, DEV) == key.hex()


def test_a_key_missing_from_the_keyring_is_a_clear_error(
    use_keyring: KeyringFactory, key_path: Path
) -> None:
    use_keyring(priority=1)
    keys = KeyStore()
    keys.put(DEV, new_key(), name="repcue-e001")
    keyring.delete_password(os_keyring.SERVICE, DEV)  # e.g. deleted in Keychain Access
    with pytest.raises(KeyStoreError) as missing:
        keys.get(DEV)
    message = str(missing.value)
    assert DEV in message and "repcue-e001" in message and "pair the device again" in message
    assert "not there" in message and "PlaintextKeyring" in message
    keyring.set_password(os_keyring.SERVICE, DEV, "not hex")
    with pytest.raises(KeyStoreError, match="not a repcue key"):
        keys.get(DEV)
    keyring.delete_password(os_keyring.SERVICE, DEV)
    assert keys.remove(DEV) is True  # nothing left to delete there: the entry goes
    assert index(key_path) == {}


def test_a_keyring_gone_or_switched_off_later_is_a_clear_error(
    use_keyring: KeyringFactory, key_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = use_keyring(priority=1)
    keys, key = KeyStore(), new_key()
    keys.put(DEV, key, name="repcue-e001")
    use_keyring(fail.Keyring())  # e.g. over ssh, no Secret Service
    for call in (lambda: keys.get(DEV), lambda: keys.remove(DEV)):
        with pytest.raises(KeyStoreError, match="no keyring is usable now") as gone:
            call()
        assert DEV in str(gone.value) and "keyring.backends.fail.Keyring" in str(gone.value)
    assert DEV in index(key_path)  # not removed: the key is still in the keyring
    use_keyring(backend)
    monkeypatch.setenv("REPCUE_KEYRING", "off")
    with pytest.raises(KeyStoreError, match="REPCUE_KEYRING=off"):
        keys.get(DEV)
    monkeypatch.setenv("REPCUE_KEYRING", "auto")
    assert keys.get(DEV) == key


def test_keyring_failures_become_key_store_errors_naming_the_backend(
    use_keyring: KeyringFactory, tmp_path: Path, key_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = use_keyring(priority=1)
    (tmp_path / "not-a-dir").write_text("")
    broken.file_path = str(tmp_path / "not-a-dir" / "keyring_pass.cfg")  # cannot be written
    key = new_key()
    KeyStore().put(DEV, key)  # auto: a keyring that cannot take the key is passed over
    assert index(key_path)[DEV]["key"] == key.hex()
    monkeypatch.setenv("REPCUE_KEYRING", "on")
    with pytest.raises(KeyStoreError, match="PlaintextKeyring") as failed:
        KeyStore().put(DEV, new_key())
    assert "failed storing the key of device" in str(failed.value)
    assert failed.value.__cause__ is not None
    assert KeyStore().get(DEV) == key  # the file was not changed


def test_a_file_with_keys_inline_keeps_working_and_a_re_pair_moves_the_key(
    use_keyring: KeyringFactory, key_path: Path
) -> None:
    old, other = new_key(), new_key()
    key_path.parent.mkdir(parents=True)
    key_path.write_text(
        json.dumps(
            {
                "devices": {
                    DEV: {"key": old.hex(), "name": "a", "address": "", "paired_at_s": 1},
                    "51b1e00002": {"key": other.hex(), "name": "b", "paired_at_s": 2},
                }
            }
        )
    )
    key_path.chmod(0o600)
    use_keyring(priority=1)
    keys = KeyStore()
    assert keys.get(DEV) == old and keys.get("51b1e00002") == other
    new = new_key()
    keys.put(DEV, new, name="a")
    assert index(key_path)[DEV]["key_in"] == "keyring" and old.hex() not in key_path.read_text()
    assert keys.get(DEV) == new and keys.get("51b1e00002") == other
    assert keys.remove("51b1e00002") is True  # an inline key: the keyring is not asked
    assert list(index(key_path)) == [DEV]


def test_a_bad_keyring_setting_is_refused(key_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPCUE_KEYRING", "yes")
    with pytest.raises(KeyStoreError, match="REPCUE_KEYRING='yes': use auto, on or off"):
        KeyStore().put(DEV, new_key())
    monkeypatch.setenv("REPCUE_KEYRING", " OFF ")
    KeyStore().put(DEV, new_key())
    assert "key" in index(key_path)[DEV]
