# The Bluetooth LE link (app.run imports it only when the board's config says "ble"):
#   gatt.py     the GATT service, Device Information and Battery on the stack
#   server.py   BleLink: the radio, connection slots, advertising, sending; AirServices
#   central.py  the connected central: its records, the handshake, its deadlines
#   secure.py   HMAC, the handshake's session and counters, device nonces
#   keys.py     the pairing key and the boot counter on flash


def available():
    """Whether this port has a `bluetooth` module (a port without runs serial only)."""
    from repcue_fw.link.ble import gatt

    return gatt.available()


def start(app, runner, firmware):
    """The BLE link over the app's services, started (advertising). Tunables come from
    the config's "ble" dict (connections: the stack's slots, challenge_deadline_ms,
    proof_deadline_ms, grace_ms). It has a dispatcher of its own (its own buffers and
    replay cache) over the services a central may use, so serial and BLE both work; its
    deadlines run on real time, whatever a sim clock does."""
    from repcue_fw import pairing
    from repcue_fw.link.ble import server
    from repcue_fw.link.dispatch import Dispatcher

    opts = app.board.config.get("ble")
    if not isinstance(opts, dict):
        opts = {}
    dispatcher = Dispatcher(server.AirServices(app))
    runner.add_listener(dispatcher.post_event)
    info = app.info()
    link = server.BleLink(
        dispatcher,
        info["name"],
        keys=pairing.key_store(app),
        device_id=info["device_id"],
        board=app.board.name,
        firmware=firmware,
        challenge_deadline_ms=opts.get("challenge_deadline_ms", server.CHALLENGE_DEADLINE_MS),
        proof_deadline_ms=opts.get("proof_deadline_ms", server.PROOF_DEADLINE_MS),
        grace_ms=opts.get("grace_ms", server.GRACE_MS),
        slots=opts.get("connections", app.board.ble_connections),
        urandom=app.board.urandom,
        log=app.board.log,
    )
    link.start()
    return link
