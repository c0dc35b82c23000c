# The pairing key on the device's flash, and the boot counter the nonces use (docs/security.md
# "Keys at rest on the device").
import struct

from repcue_fw.wire.air import KEY_LEN

KEY_DIR = "ble"  # under the journal's root: the key and the boot counter
KEY_FILE = "key"
BOOTS_FILE = "boots"


class KeyStore:
    """The pairing key on the device's flash, and the boot counter the nonces use: small
    files in a directory of their own beside the journal.

    littlefs keeps a file this small inside its directory's metadata log, and a rewrite or a
    delete only appends a commit: the old key stays readable on the raw flash until that log
    is compacted, twice (it has two blocks). So forgetting a key (unpair, re-pair) rewrites
    the file until the old key is on no block any more; the key's own directory keeps that
    log short. `blocks` is the raw block device under the filesystem when the board offers
    it (the scrub then checks, else it rewrites as often as two compactions of a 4 KB
    block need at most).
    """

    SCRUB_MAX = 512  # rewrites: a 4 KB metadata block compacts after ~60-100 commits

    def __init__(self, root, blocks=None):
        self.dir = root + "/" + KEY_DIR
        self.path = self.dir + "/" + KEY_FILE
        self.blocks = blocks
        self.scrub_writes = 0  # rewrites the last scrub took (tests, logs)

    def _mkdir(self):
        import os

        try:
            os.mkdir(self.dir)
        except OSError:
            pass  # already there

    def load(self):
        try:
            with open(self.path, "rb") as f:
                key = f.read()
        except OSError:
            return None
        return key if len(key) == KEY_LEN else None

    def _write(self, data):
        # littlefs commits a file at close: old bytes or new bytes, never half of them
        with open(self.path, "wb") as f:
            f.write(data)

    def save(self, key):
        if len(key) != KEY_LEN:
            raise ValueError("pairing key must be 32 bytes")
        self._mkdir()
        old = self.load()
        self._write(key)
        if old is not None and old != key:
            self._scrub(old, key)

    def clear(self):
        """Forget the key: overwrite it until no block holds it, then delete the file."""
        import os

        old = self.load()
        if old is not None:
            self._write(bytes(KEY_LEN))
            self._scrub(old, bytes(KEY_LEN))
        try:
            os.remove(self.path)
        except OSError:
            pass

    def _scrub(self, old, filler):
        n = 0
        while n < self.SCRUB_MAX:
            if self.blocks is not None and n % 8 == 0 and not on_flash(self.blocks, old):
                break
            self._write(filler)
            n += 1
        self.scrub_writes = n

    def next_boot(self):
        """Count this boot on flash and return the count (written before it is used, so a
        power cut can never hand out one count twice)."""
        self._mkdir()
        path = self.dir + "/" + BOOTS_FILE
        count = 0
        try:
            with open(path, "rb") as f:
                raw = f.read()
            if len(raw) == 4:
                count = struct.unpack("<I", raw)[0]
        except OSError:
            pass  # the first boot
        count = (count + 1) & 0xFFFFFFFF
        with open(path, "wb") as f:
            f.write(struct.pack("<I", count))
        return count


def on_flash(blocks, needle):
    """True when some block of the raw device holds `needle` (read in small chunks, each
    overlapping the last by len(needle) - 1 so that nothing is missed at a seam)."""
    count = blocks.ioctl(4, 0)
    size = blocks.ioctl(5, 0)
    k = len(needle)
    step = 512 if size >= 512 else size
    buf = bytearray(step + k - 1)
    mv = memoryview(buf)
    for blk in range(count):
        off = 0
        while off < size:
            n = step + k - 1 if off + step + k - 1 <= size else size - off
            blocks.readblocks(blk, mv[:n], off)
            if buf.find(needle, 0, n) >= 0:
                return True
            off += step
    return False
