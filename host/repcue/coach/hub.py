"""The coach's laptop as the hub: a private Mosquitto broker in a temporary folder, with a
password for each athlete and the coach, and the ACL of docs/live.md (an athlete writes only
under its own name and reads the group start; the coach reads everything and writes the
group start). It lives as long as `repcue coach`."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from repcue.coach.feed import CoachError

COACH_USER = "coach"
_START_TIMEOUT_S = 10.0
INSTALL = (
    "no mosquitto here for the coach's private broker: install it "
    "(sudo apt-get install mosquitto, brew install mosquitto), "
    "or run against a broker you have with --mqtt URL"
)

ACL = """\
# the coach reads everything and writes the group start
user coach
topic read repcue/v1/#
topic write repcue/v1/_group/start

# each athlete (user name = athlete name) writes only under its own name
pattern write repcue/v1/%u/#
pattern read repcue/v1/_group/start
"""


@dataclass(frozen=True)
class Hub:
    host: str  # the address the athletes' bridges reach the broker at
    port: int
    tls: bool
    users: dict[str, str]  # name -> password (the athletes and "coach")
    binary: str

    def url(self, user: str) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{user}:{self.users[user]}@{self.host}:{self.port}"


def mosquitto_binary() -> str | None:
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def reachable_host(listen: str) -> str:
    """The address to print for others: the listen address, or for a wildcard listen the
    address of this machine's outgoing interface (no packet is sent)."""
    if listen not in ("0.0.0.0", "::", ""):
        return listen
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return str(s.getsockname()[0])
        except OSError:
            return socket.gethostname()


def _password_file(binary: str, path: Path, users: dict[str, str]) -> None:
    tool = shutil.which("mosquitto_passwd") or str(Path(binary).with_name("mosquitto_passwd"))
    if not Path(tool).exists():
        tool = "/usr/bin/mosquitto_passwd"
    path.touch(mode=0o600)
    for user, password in users.items():
        subprocess.run([tool, "-b", str(path), user, password], check=True, capture_output=True)


@contextmanager
def private_mosquitto(
    listen: str,
    port: int,
    users: dict[str, str],
    *,
    cert: str | None = None,
    key: str | None = None,
) -> Iterator[Hub]:
    """Mosquitto on listen:port until the block ends. Raises CoachError saying why not."""
    binary = mosquitto_binary()
    if binary is None:
        raise CoachError(INSTALL)
    with tempfile.TemporaryDirectory(prefix="repcue-coach-") as tmp:
        folder = Path(tmp)
        _password_file(binary, folder / "passwd", users)
        (folder / "acl").write_text(ACL)
        tls = ""
        if cert and key:
            tls = f"certfile {Path(cert).resolve()}\nkeyfile {Path(key).resolve()}\n"
        (folder / "mosquitto.conf").write_text(
            f"listener {port} {listen}\n{tls}"
            "allow_anonymous false\n"
            f"password_file {folder / 'passwd'}\n"
            f"acl_file {folder / 'acl'}\n"
            "persistence false\n"
            # as root it would drop to the "mosquitto" user, who cannot read this folder
            f"user {getpass.getuser()}\n"
        )
        proc = subprocess.Popen(
            [binary, "-c", str(folder / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            _wait_listening(proc, "127.0.0.1" if listen in ("0.0.0.0", "") else listen, port)
            yield Hub(reachable_host(listen), port, bool(cert and key), dict(users), binary)
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_listening(proc: subprocess.Popen[bytes], host: str, port: int) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while True:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise CoachError(
                    f"the private broker (mosquitto on {host}:{port}) did not start: "
                    f"{err.strip() or 'no word from it'}"
                ) from None
            time.sleep(0.05)
