# The link: what moves the protocol's frames between a host and the app's services.
#   dispatch.py   frames in, responses out (no stream, no asyncio)
#   upload.py     the program upload behind PROGRAM_BEGIN/CHUNK/COMMIT
#   serial.py     protocol mode on the USB serial port
#   ble/          the Bluetooth LE link: GATT service, records, authentication
# Importing one part loads nothing of the others (a serial-only board never loads BLE).
