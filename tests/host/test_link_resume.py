"""The reconnect policy alone (repcue.link.resume), over a scripted transport: what counts
as a link loss, what is retried and how often, and the notices. The same policy against
the real firmware and the virtual radio: tests/e2e/test_e2e_resume.py,
tests/ble/test_ble_resume.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from repcue.cli import main
from repcue.errors import (
    DisconnectedError,
    PortNotFoundError,
    RepcueError,
    RepcueTimeoutError,
    TransportError,
    VersionMismatchError,
)
from repcue.link.ble.records import AuthError
from repcue.link.client import DeviceClient
from repcue.link.resume import ReconnectPolicy, is_link_loss, with_reconnect

Operation = Callable[[DeviceClient], Awaitable[str]]


class ScriptedTransport:
    """open() raises what the script says; nothing ever arrives."""

    description = "fake:"

    def __init__(self, open_error: RepcueError | None) -> None:
        self.open_error = open_error

    async def open(self) -> None:
        if self.open_error is not None:
            raise self.open_error

    async def close(self) -> None:
        pass

    async def send(self, data: bytes) -> None:
        pass

    async def receive(self) -> bytes:
        await asyncio.Event().wait()
        return b""


class Factory:
    def __init__(self, *open_errors: RepcueError | None) -> None:
        self.open_errors = list(open_errors)
        self.calls = 0

    def __call__(self) -> DeviceClient:
        error = self.open_errors[min(self.calls, len(self.open_errors) - 1)]
        self.calls += 1
        return DeviceClient(ScriptedTransport(error))


def raising(*errors: Exception) -> tuple[list[int], Operation]:
    """An operation that raises the given errors on its first calls, then returns 'done'."""
    calls: list[int] = []

    async def operation(client: DeviceClient) -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "done"

    return calls, operation


def lost_after_refusal() -> DisconnectedError:
    refusal = AuthError("the device refused the record", code=3)
    inner = DisconnectedError("ble:x: link lost")
    inner.__cause__ = refusal
    outer = DisconnectedError("ble:x: link lost")
    outer.__cause__ = inner
    return outer


def test_what_counts_as_a_link_loss() -> None:
    assert is_link_loss(DisconnectedError("gone"))
    assert not is_link_loss(lost_after_refusal())  # the device hung up on purpose
    assert not is_link_loss(TransportError("port failed"))
    assert not is_link_loss(RepcueTimeoutError("no answer"))
    assert not is_link_loss(AuthError("wrong key", code=2))


def test_the_backoff_is_bounded_and_retries_are_not_negative() -> None:
    policy = ReconnectPolicy(backoff_s=(0.2, 0.5, 1.0))
    assert [policy.wait_s(n) for n in (1, 2, 3, 4, 9)] == [0.2, 0.5, 1.0, 1.0, 1.0]
    assert ReconnectPolicy(backoff_s=()).wait_s(1) == 0.0
    with pytest.raises(ValueError):
        ReconnectPolicy(retries=-1)


async def test_a_loss_then_a_port_not_back_yet_are_retried_with_notices() -> None:
    factory = Factory(None, PortNotFoundError("serial port /dev/x does not exist"), None)
    calls, operation = raising(DisconnectedError("fake: link lost"))
    notices: list[str] = []
    policy = ReconnectPolicy(retries=3, backoff_s=(0.01,), notice=notices.append)
    result = await with_reconnect(factory, operation, policy=policy, where=lambda: " at 4/9")
    assert result == "done"
    assert (factory.calls, len(calls)) == (3, 2)
    assert notices == [
        "link lost at 4/9; reconnecting (1/3)",
        "cannot reconnect yet (serial port /dev/x does not exist); reconnecting (2/3)",
    ]


@pytest.mark.parametrize(
    "error",
    [
        lost_after_refusal(),
        AuthError("wrong key", code=2),
        VersionMismatchError("v2", device_version=2, host_version=1),
        RepcueTimeoutError("no answer"),
        TransportError("write failed"),
    ],
    ids=["refused-then-lost", "auth", "version", "timeout", "transport"],
)
async def test_other_errors_are_not_retried(error: Exception) -> None:
    factory = Factory(None)
    calls, operation = raising(error)
    notices: list[str] = []
    with pytest.raises(type(error)):
        await with_reconnect(factory, operation, policy=ReconnectPolicy(notice=notices.append))
    assert (factory.calls, len(calls), notices) == (1, 1, [])


async def test_a_link_that_cannot_be_opened_at_first_is_not_retried() -> None:
    factory = Factory(PortNotFoundError("serial port /dev/x does not exist"))
    _, operation = raising()
    with pytest.raises(PortNotFoundError):
        await with_reconnect(factory, operation)
    assert factory.calls == 1


async def test_the_retries_run_out_with_the_last_loss() -> None:
    last = DisconnectedError("fake: link lost, third time")
    factory = Factory(None)
    calls, operation = raising(DisconnectedError("1"), DisconnectedError("2"), last)
    notices: list[str] = []
    policy = ReconnectPolicy(retries=2, backoff_s=(0.01,), notice=notices.append)
    with pytest.raises(DisconnectedError) as caught:
        await with_reconnect(factory, operation, policy=policy)
    assert caught.value is last
    assert (factory.calls, len(calls), len(notices)) == (3, 3, 2)


@pytest.mark.parametrize("value", ["-1", "two"])
def test_retries_must_be_a_whole_number(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["sync", "--retries", value, "--device", "sim:"])
    assert caught.value.code == 2
    assert "--retries: expected a whole number" in capsys.readouterr().err
