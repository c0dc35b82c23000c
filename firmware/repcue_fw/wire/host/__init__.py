# The CPython side of the wire format: what only a host (or a test) needs beside the
# modules a board runs (wire/*.py). Never copied to a board.
