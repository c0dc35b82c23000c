# BLE at boot (app.run imports this only when the board's config says "ble"): whether
# the port has `bluetooth`, and the BLE link wired to the app's services, its own
# dispatcher, the pairing key store and the lock-out guard.


def available():
    from repcue_fw import ble_link

    return ble_link.available()  # a port without `bluetooth` runs serial only


def start(app, journal, runner, firmware):
    # Only when the config asks ("ble": true, or a dict of the link's tunables:
    # lock_after, lock_base_ms, auth_deadline_ms): the BLE link has its own dispatcher (its
    # own buffers and replay cache) over the same services less the USB-only ones, so
    # serial and BLE both work. The guard runs on real time, whatever a sim clock does.
    import time

    from repcue_fw import ble_link, ble_secure
    from repcue_fw.link import Dispatcher

    opts = app.board.config.get("ble")
    if not isinstance(opts, dict):
        opts = {}
    dispatcher = Dispatcher(ble_link.AirServices(app))
    runner.add_listener(dispatcher.post_event)
    info = app.info()
    guard = ble_secure.Guard(
        time, lock_after=opts.get("lock_after", 5), lock_base_ms=opts.get("lock_base_ms", 2000)
    )
    link = ble_link.BleLink(
        dispatcher,
        info["name"],
        keys=ble_secure.KeyStore(journal.root),
        device_id=info["device_id"],
        board=app.board.name,
        firmware=firmware,
        guard=guard,
        auth_deadline_ms=opts.get("auth_deadline_ms", ble_link.AUTH_DEADLINE_MS),
    )
    link.start()
    return link
