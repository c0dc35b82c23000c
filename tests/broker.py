"""A real Mosquitto broker for the tests: on a free port of 127.0.0.1, with a password file
(anonymous clients refused). `make test` installs the Debian package; without it the tests
that need it fail, saying what to install."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

INSTALL = "install Mosquitto: sudo apt-get install mosquitto (make test does it as root)"


@dataclass(frozen=True)
class Broker:
    port: int
    users: dict[str, str]  # name -> password

    def url(self, user: str) -> str:
        return f"mqtt://{user}:{self.users[user]}@127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def mosquitto(folder: Path, users: dict[str, str]) -> Iterator[Broker]:
    """A broker running until the block ends."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not Path(binary).exists() or not Path(passwd).exists():
        raise RuntimeError(f"no mosquitto here: {INSTALL}")
    folder.mkdir(parents=True, exist_ok=True)
    passwords = folder / "passwd"
    for user, password in users.items():
        create = ["-c"] if not passwords.exists() else []
        subprocess.run([passwd, *create, "-b", str(passwords), user, password], check=True)
    port = _free_port()
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous false\n"
        f"password_file {passwords}\n"
        "persistence false\n"
        # run as root it would drop to the "mosquitto" user, who cannot read a test's folder
        f"user {getpass.getuser()}\n"
    )
    proc = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise RuntimeError(f"mosquitto did not start: {err}") from None
                time.sleep(0.05)
        yield Broker(port, dict(users))
    finally:
        proc.terminate()
        proc.wait(5)
