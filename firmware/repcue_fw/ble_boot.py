# BLE at boot (app.run imports this only when the board's config says "ble"): whether
# the port has `bluetooth`, and the BLE link wired to the app's services, its own
# dispatcher and the pairing key store.


def available():
    from repcue_fw import ble_link

    return ble_link.available()  # a port without `bluetooth` runs serial only


def start(app, journal, runner, firmware):
    # Only when the config asks ("ble": true, or a dict of the link's tunables:
    # connections (the stack's slots), challenge_deadline_ms, proof_deadline_ms, grace_ms):
    # the BLE link has its own dispatcher (its own buffers and replay cache) over the
    # services a central may use, so serial and BLE both work. Its deadlines run on real
    # time, whatever a sim clock does.
    from repcue_fw import ble_link, pairing
    from repcue_fw.link import Dispatcher

    opts = app.board.config.get("ble")
    if not isinstance(opts, dict):
        opts = {}
    dispatcher = Dispatcher(ble_link.AirServices(app))
    runner.add_listener(dispatcher.post_event)
    info = app.info()
    link = ble_link.BleLink(
        dispatcher,
        info["name"],
        keys=pairing.key_store(app),
        device_id=info["device_id"],
        board=app.board.name,
        firmware=firmware,
        challenge_deadline_ms=opts.get("challenge_deadline_ms", ble_link.CHALLENGE_DEADLINE_MS),
        proof_deadline_ms=opts.get("proof_deadline_ms", ble_link.PROOF_DEADLINE_MS),
        grace_ms=opts.get("grace_ms", ble_link.GRACE_MS),
        slots=opts.get("connections", app.board.ble_connections),
        urandom=app.board.urandom,
        log=app.board.log,
    )
    link.start()
    return link
