"""A real Mosquitto broker for the tests: on a free port of 127.0.0.1, with a password file
(anonymous clients refused), optionally TLS (a CA and server certificate made by trustme)
and an ACL file. `make test` installs the Debian package; without it the tests that need it
fail, saying what to install. A test can kill the broker and start it again on the same
port (`broker.process.kill()`, `.start()`)."""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

INSTALL = "install Mosquitto: sudo apt-get install mosquitto (make test does it as root)"


@dataclass(frozen=True)
class Tls:
    """The files of a TLS listener: the CA the clients trust, the server's cert and key."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls(folder: Path, host: str = "127.0.0.1") -> Tls:
    """A fresh CA and a server certificate for `host` (trustme)."""
    import trustme

    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    server = ca.issue_cert(host)
    files = Tls(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.cert_pem.write_to_path(str(files.ca_file))
    server.cert_chain_pems[0].write_to_path(str(files.cert_file))
    server.private_key_pem.write_to_path(str(files.key_file))
    return files


class Process:
    """The mosquitto process behind a Broker: kill() it, start() it again (same port)."""

    def __init__(self, config: Path, port: int) -> None:
        self.config, self.port = config, port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [binary, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    raise RuntimeError(f"mosquitto did not start: {err}") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no goodbye to anyone, as a crash or a pulled plug."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


@dataclass(frozen=True)
class Broker:
    port: int
    users: dict[str, str]  # name -> password
    tls: Tls | None = None
    process: Process | None = field(default=None, compare=False, repr=False)

    def url(self, user: str, password: str | None = None) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        secret = self.users[user] if password is None else password
        return f"{scheme}://{user}:{secret}@127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def mosquitto(
    folder: Path,
    users: dict[str, str],
    *,
    tls: Tls | None = None,
    acl_file: Path | None = None,
) -> Iterator[Broker]:
    """A broker running until the block ends; with `tls` its listener speaks only TLS,
    with `acl_file` that file (Mosquitto's acl_file syntax) says who may read and write what."""
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
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous false",
        f"password_file {passwords}",
        "persistence false",
        # run as root it would drop to the "mosquitto" user, who cannot read a test's folder
        f"user {getpass.getuser()}",
    ]
    if tls is not None:
        lines += [f"cafile {tls.ca_file}", f"certfile {tls.cert_file}", f"keyfile {tls.key_file}"]
    if acl_file is not None:
        lines.append(f"acl_file {acl_file}")
    config.write_text("\n".join(lines) + "\n")
    process = Process(config, port)
    process.start()
    try:
        yield Broker(port, dict(users), tls, process)
    finally:
        process.stop()
