"""The coach's laptop as the hub: a private broker with a password for each athlete and the
coach, and the ACL of docs/live.md (an athlete writes only under its own name and reads the
group start; the coach reads everything and writes the group start). Mosquitto (a config in
a temporary folder) where it is installed, else amqtt inside the process (the `[hub]`
extra). It lives as long as `repcue coach`."""

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
from urllib.parse import quote

from repcue.coach.feed import CoachError

_START_TIMEOUT_S = 10.0
KINDS = ("auto", "mosquitto", "amqtt")
NO_MOSQUITTO = (
    "no mosquitto here: install it (sudo apt-get install mosquitto; brew install mosquitto)"
)
NO_AMQTT = "no amqtt here: pip install 'repcue[hub]' (the broker inside repcue)"

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
    kind: str  # "mosquitto" or "amqtt"

    def url(self, user: str) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        secret = quote(self.users[user], safe="")  # a chosen --password may hold '@' or ':'
        return f"{scheme}://{quote(user, safe='')}:{secret}@{self.host}:{self.port}"


def _amqtt_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("amqtt") is not None


@contextmanager
def private_hub(
    kind: str,
    listen: str,
    port: int,
    users: dict[str, str],
    *,
    cert: str | None = None,
    key: str | None = None,
) -> Iterator[Hub]:
    """The private broker: kind "mosquitto", "amqtt", or "auto" (Mosquitto if installed,
    else amqtt). Raises CoachError saying what to install when neither is there."""
    if kind == "auto":
        if mosquitto_binary():
            kind = "mosquitto"
        elif _amqtt_installed():
            kind = "amqtt"
        else:
            raise CoachError(
                "the coach's private broker needs Mosquitto or amqtt: "
                "sudo apt-get install mosquitto (or brew install mosquitto), "
                "or pip install 'repcue[hub]'; or read a broker you have with --mqtt URL"
            )
    tls = bool(cert and key)
    check_port_free(listen, port)
    if kind == "mosquitto":
        with private_mosquitto(listen, port, users, cert=cert, key=key):
            yield Hub(reachable_host(listen), port, tls, dict(users), kind)
        return
    if not _amqtt_installed():
        raise CoachError(NO_AMQTT)
    from repcue.coach.embedded import embedded_broker

    with embedded_broker(listen, port, users, cert=cert, key=key):
        yield Hub(reachable_host(listen), port, tls, dict(users), kind)


def check_port_free(listen: str, port: int) -> None:
    """Raises CoachError when listen:port is taken (else a broker could fail to bind while
    another program's listener there looks like it)."""
    family = socket.AF_INET6 if ":" in listen else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((listen, port))
        except OSError as err:
            raise CoachError(
                f"the private broker cannot listen on {listen}:{port}: "
                f"{err.strerror or err} (--broker-port N)"
            ) from None


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
) -> Iterator[None]:
    """Mosquitto on listen:port until the block ends. Raises CoachError saying why not."""
    binary = mosquitto_binary()
    if binary is None:
        raise CoachError(NO_MOSQUITTO)
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
            yield
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
