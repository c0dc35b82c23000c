# Boot: pick the board and run the app (repcue_fw/app.py). When the app returns (the host
# asked for the REPL, or a button was held at power-up), the REPL gets the serial port.
# A failure is printed to stderr: on the unix port stdout is the protocol stream.
import sys

try:
    from repcue_fw import app

    app.main()
except Exception as exc:
    sys.print_exception(exc, sys.stderr)
