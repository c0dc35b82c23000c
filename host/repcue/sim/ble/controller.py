"""The virtual radio's link layer: a Bumble Controller that behaves like a radio where
Bumble's simulation takes shortcuts that real hosts trip over (scan responses, the timing
of a connection's end, a connection that never came about, a board losing power).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from bumble import hci, ll
from bumble.controller import Controller
from bumble.link import LocalLink

_CONNECTION_INTERVAL_S = 0.03


def _scan_response_data(link: LocalLink, address: hci.Address) -> bytes | None:
    """What the advertiser at `address` set as its scan response (None: not found)."""
    for controller in link.controllers:
        for adv_set in controller.advertising_sets.values():
            if adv_set.address == address:
                return bytes(adv_set.scan_response_data)
        legacy = controller.le_legacy_advertiser
        if legacy.enabled and legacy.address == address:
            return bytes(legacy.scan_response_data)
    return None


class RadioController(Controller):
    """A Bumble Controller that behaves like a radio in two more ways.

    Scan reports carry the advertiser's real scan response (Bumble's simulation answers
    an active scan with the advertising data again), and vanish() takes it off the air
    the way a board losing power does.
    """

    def send_hci_packet(self, packet: Any) -> None:
        if isinstance(packet, hci.HCI_LE_Extended_Advertising_Report_Event):
            flag = hci.HCI_LE_Extended_Advertising_Report_Event.EventType.SCAN_RESPONSE
            for report in packet.reports:
                if report.event_type & flag:
                    data = _scan_response_data(self.link, report.address)
                    if data is not None:
                        report.data = data
            packet = hci.HCI_LE_Extended_Advertising_Report_Event(list(packet.reports))
        elif isinstance(packet, hci.HCI_LE_Advertising_Report_Event):
            scan_rsp = hci.HCI_LE_Advertising_Report_Event.EventType.SCAN_RSP
            for legacy in packet.reports:
                if legacy.event_type == scan_rsp:
                    data = _scan_response_data(self.link, legacy.address)
                    if data is not None:
                        legacy.data = data
            packet = hci.HCI_LE_Advertising_Report_Event(list(packet.reports))
        super().send_hci_packet(packet)

    def on_ll_control_pdu(self, sender_address: hci.Address, packet: ll.ControlPdu) -> None:
        # On the air a TerminateInd travels in a connection event, at least a connection
        # interval after the connection began, and the terminating side considers the link
        # gone only once its peer has it. Bumble's link hands it over at once: a host that
        # gets the disconnection before it has set up the connection keeps a zombie that
        # waits out a 30 s GATT timeout. So it arrives one interval later, for the very
        # connection it was sent on (not a newer one to the same peer).
        if not isinstance(packet, ll.TerminateInd):
            super().on_ll_control_pdu(sender_address, packet)
            return
        meant = self.le_connections.get(sender_address)

        def deliver() -> None:
            if meant is not None and self.le_connections.get(sender_address) is meant:
                super(RadioController, self).on_ll_control_pdu(sender_address, packet)

        asyncio.get_running_loop().call_later(_CONNECTION_INTERVAL_S, deliver)

    def on_hci_disconnect_command(self, command: hci.HCI_Disconnect_Command) -> None:
        connection = self.find_le_connection_by_handle(command.connection_handle)
        fade = command.reason == hci.HCI_CONNECTION_TIMEOUT_ERROR  # drop_links(): at once
        if connection is None or self.link is None or fade:
            super().on_hci_disconnect_command(command)
            return
        # the peer has the TerminateInd (one interval later) before this side is done
        self._send_hci_command_status(hci.HCI_COMMAND_STATUS_PENDING, command.op_code)
        connection.send_ll_control_pdu(ll.TerminateInd(command.reason))

        def done() -> None:
            if self.le_connections.get(connection.peer_address) is connection:
                self.on_le_disconnected(connection, command.reason)

        asyncio.get_running_loop().call_later(1.2 * _CONNECTION_INTERVAL_S, done)

    def create_le_connection(self, peer_address: hci.Address) -> None:
        # Bumble's central reports a connection as soon as it sends CONNECT_IND, even when
        # the advertiser took another central's CONNECT_IND first: that central is then
        # connected to nobody until a 30 s GATT timeout. On the air the attempt fails after
        # a few connection intervals (status 0x3E); so it does here.
        pending = self.pending_le_connection
        super().create_le_connection(peer_address)
        if pending is None:
            return
        connection = self.le_connections.get(pending.peer_address)
        if connection is not None:
            asyncio.get_running_loop().call_later(
                2 * _CONNECTION_INTERVAL_S, self._check_established, connection
            )

    def _check_established(self, connection: Any) -> None:
        ours: Any = self.le_connections.get(connection.peer_address)
        if ours is not connection or self.link is None:
            return
        peer = self.link.find_le_controller(ours.peer_address)
        if peer is None or ours.self_address not in peer.le_connections:
            self.on_le_disconnected(ours, hci.HCI_CONNECTION_FAILED_TO_BE_ESTABLISHED_ERROR)

    def vanish(self, reason: int = hci.HCI_CONNECTION_TIMEOUT_ERROR) -> None:
        """Leave the air at once: every peer sees its link end, nobody hears us again."""
        for adv_set in self.advertising_sets.values():
            adv_set.stop()
        self.le_legacy_advertiser.stop()
        for connection in list(self.le_connections.values()):
            with contextlib.suppress(Exception):
                connection.send_ll_control_pdu(ll.TerminateInd(reason))
        if self in self.link.controllers:
            self.link.remove_controller(self)
