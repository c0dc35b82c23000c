"""Where an MQTT broker is and how repcue talks to it: the URL, the topic scheme, an aiomqtt
client for it, and aiomqtt's errors translated into the error tree (BrokerError).

Topics (docs/live.md, "MQTT"), root `repcue/v1`:
    {athlete}/{device_id}/event    every live object, QoS 1, in order
    {athlete}/{device_id}/status   "online" / "offline", retained, last will "offline"
    {athlete}/{device_id}/state    a JSON snapshot (live/snapshot.py), retained, QoS 1
    {athlete}/{device_id}/session  a synced session (`show --json` + uid, athlete), QoS 1
    _group/start                   the coach's group start (live/group.py), QoS 1
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from repcue.errors import BrokerAuthError, BrokerError

TOPIC_ROOT = "repcue/v1"
GROUP_START_TOPIC = f"{TOPIC_ROOT}/_group/start"
CONNECT_TIMEOUT_S = 10.0
_MAX_ATHLETE_CHARS = 64
_AUTH_CODES = (4, 5, 134, 135)  # 3.1.1: bad user name or password, not authorised; 5.0 the same


@dataclass(frozen=True)
class BrokerUrl:
    """Where the broker is: mqtt://[user[:password]@]host[:port], or mqtts:// for TLS."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, text: str) -> BrokerUrl:
        """Raises ValueError saying what is wrong with the URL."""
        parts = urlsplit(text)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"{text!r}: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]")
        if not parts.hostname:
            raise ValueError(f"{text!r}: no broker host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"{text!r}: a broker URL has no path or query")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError as err:  # a port that is not a number or out of range
            raise ValueError(f"{text!r}: {err}") from None
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        return cls(parts.hostname, port, tls, user, password)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def check_athlete(name: str) -> str:
    """An athlete's name as a topic level: no '/', '+' or '#', not empty, at most 64 chars,
    not starting with '_' (reserved: `_group`). Raises ValueError."""
    if not name.strip() or len(name) > _MAX_ATHLETE_CHARS or any(c in name for c in "/+#\0"):
        raise ValueError(
            f"athlete {name!r}: 1-{_MAX_ATHLETE_CHARS} characters without '/', '+' or '#'"
        )
    if name.startswith("_"):
        raise ValueError(f"athlete {name!r}: names starting with '_' are reserved (_group)")
    return name


def topic(athlete: str, device_id: str, leaf: str) -> str:
    return f"{TOPIC_ROOT}/{athlete}/{device_id}/{leaf}"


def make_client(
    broker: BrokerUrl,
    identifier: str,
    *,
    ca_file: str | None = None,
    will: aiomqtt.Will | None = None,
    timeout_s: float = CONNECT_TIMEOUT_S,
) -> aiomqtt.Client:
    """An aiomqtt client (MQTT 3.1.1) for the broker; mqtts:// checks the broker's
    certificate against ca_file (or the system's CAs) and its host name."""
    tls = None
    if broker.tls:
        tls = aiomqtt.TLSParameters(ca_certs=ca_file, cert_reqs=ssl.CERT_REQUIRED, tls_version=None)
    return aiomqtt.Client(
        broker.host,
        broker.port,
        username=broker.username,
        password=broker.password,
        identifier=identifier,
        will=will,
        tls_params=tls,
        timeout=timeout_s,
    )


@asynccontextmanager
async def connection(
    broker: BrokerUrl,
    identifier: str,
    *,
    ca_file: str | None = None,
    will: aiomqtt.Will | None = None,
) -> AsyncIterator[aiomqtt.Client]:
    """A connected client for the block; aiomqtt's errors, connecting or in the block,
    come out as BrokerError (raise ... from err: the boundary of the error tree)."""
    try:
        async with make_client(broker, identifier, ca_file=ca_file, will=will) as client:
            yield client
    except aiomqtt.MqttError as err:
        raise broker_error(err, broker, ca_file) from err


def broker_error(err: aiomqtt.MqttError, broker: BrokerUrl, ca_file: str | None) -> BrokerError:
    """aiomqtt's error as ours, saying what went wrong and where (raise ... from err)."""
    where = broker.where
    rc = getattr(err, "rc", None)
    code = getattr(rc, "value", rc)
    if isinstance(err, MqttConnectError) and code in _AUTH_CODES:
        user = f"user {broker.username!r}" if broker.username else "no user name"
        return BrokerAuthError(
            f"MQTT broker {where} refused {user}: wrong user name or password ({err})",
            broker=where,
        )
    text = str(err)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        ca = f"the CA in {ca_file}" if ca_file else "this system's CAs (give --mqtt-ca FILE)"
        return BrokerError(
            f"MQTT broker {where}: its TLS certificate is not signed by {ca} ({text})",
            broker=where,
        )
    if "SSL" in text or "TLS" in text or "WRONG_VERSION_NUMBER" in text:
        return BrokerError(f"MQTT broker {where}: the TLS handshake failed ({text})", broker=where)
    hint = ""
    if broker.tls and "reset" in text.lower():
        hint = "; is it a TLS listener? (mqtt:// is plain)"
    return BrokerError(f"MQTT broker {where} unreachable ({text}{hint})", broker=where)
