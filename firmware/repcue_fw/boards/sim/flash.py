# Simulated NOR flash for the unix port: a block device (MicroPython's extended protocol,
# what vfs.VfsLfs2 needs) backed by an image file, so the flash survives between runs.
#
# NOR model: erase sets a whole block to 0xff; program can only clear bits (new = old & data).
# Power loss: with cut_at=N the Nth program/erase is the one during which power fails. If
# `torn`, that operation is left half done (a random prefix written, one byte partly
# programmed or erased); otherwise it does not happen at all. From then on every call
# returns -5 (EIO) and changes nothing: a raised exception would leave littlefs files open
# and break their finalisers later, so this device never raises.
try:
    from micropython import const
except ImportError:  # CPython on the host

    def const(x):
        return x


EIO = const(5)
_CHUNK = const(64)
_IOCTL_INIT = const(1)
_IOCTL_DEINIT = const(2)
_IOCTL_SYNC = const(3)
_IOCTL_BLOCK_COUNT = const(4)
_IOCTL_BLOCK_SIZE = const(5)
_IOCTL_ERASE = const(6)


class SimFlash:
    """NOR flash in a file. `ops` counts program and erase operations so far."""

    def __init__(self, path, block_size=4096, block_count=64, cut_at=0, torn=True, seed=1):
        self.path = path
        self.block_size = block_size
        self.cut_at = cut_at  # 0: never lose power
        self.torn = torn
        self.ops = 0
        self.cut = False  # power has been lost
        self.on_cut = None  # optional callable run once when power is lost (must not raise)
        self._seed = (seed & 0x7FFFFFFF) or 1
        self._scratch = bytearray(_CHUNK)
        try:
            f = open(path, "r+b")
        except OSError:
            f = self._create(path, block_count)
        f.seek(0, 2)
        size = f.tell()
        if size % block_size or not size:
            f.close()
            raise ValueError(
                "flash image size " + str(size) + " is not blocks of " + str(block_size)
            )
        self.block_count = size // block_size
        self._f = f

    def _create(self, path, block_count):
        f = open(path, "w+b")
        for i in range(_CHUNK):
            self._scratch[i] = 0xFF
        for _ in range(block_count * self.block_size // _CHUNK):
            f.write(self._scratch)
        return f

    def close(self):
        if self._f is not None:
            self._f.close()
            self._f = None

    def _rand(self, n):
        # xorshift32: deterministic for a seed, the same under MicroPython and CPython
        x = self._seed
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self._seed = x
        return x % n if n > 0 else 0

    def _power_fails_now(self):
        """Count one program/erase; True if power is lost during it."""
        self.ops += 1
        if self.cut_at and self.ops >= self.cut_at:
            self.cut = True
            if self.on_cut is not None:
                self.on_cut()
            return True
        return False

    def readblocks(self, block, buf, offset=0):
        if self.cut:
            return -EIO
        self._f.seek(block * self.block_size + offset)
        self._f.readinto(buf)
        return 0

    def writeblocks(self, block, buf, offset=0):
        if self.cut:
            return -EIO
        if offset is None:
            offset = 0
        n = len(buf)
        if self._power_fails_now():
            if not self.torn:
                return -EIO
            n = self._rand(n + 1)  # bytes fully programmed before the cut
            self._program(block * self.block_size + offset, buf, n, n < len(buf))
            return -EIO
        self._program(block * self.block_size + offset, buf, n, False)
        return 0

    def _program(self, addr, data, n, partial_last):
        # new = old & data, in small chunks through one preallocated buffer (no allocation:
        # readinto/write take a length)
        f = self._f
        scratch = self._scratch
        done = 0
        while done < n:
            k = n - done if n - done < _CHUNK else _CHUNK
            f.seek(addr + done)
            f.readinto(scratch, k)
            for i in range(k):
                scratch[i] &= data[done + i]
            f.seek(addr + done)
            f.write(scratch, k)
            done += k
        if partial_last:
            # the byte being programmed at the cut: only some of its bits reached 0
            f.seek(addr + n)
            f.readinto(scratch, 1)
            scratch[0] &= data[n] | self._rand(256)
            f.seek(addr + n)
            f.write(scratch, 1)

    def _erase(self, block):
        size = self.block_size
        if self._power_fails_now():
            if self.torn:
                # a prefix erased, one byte half erased, the rest as it was
                n = self._rand(size)
                self._fill(block * size, n)
                f = self._f
                f.seek(block * size + n)
                f.readinto(self._scratch, 1)
                self._scratch[0] |= self._rand(256)
                f.seek(block * size + n)
                f.write(self._scratch, 1)
            return -EIO
        self._fill(block * size, size)
        return 0

    def _fill(self, addr, n):
        scratch = self._scratch
        for i in range(_CHUNK):
            scratch[i] = 0xFF
        f = self._f
        f.seek(addr)
        while n >= _CHUNK:
            f.write(scratch)
            n -= _CHUNK
        if n:
            f.write(scratch, n)

    def ioctl(self, op, arg):
        if op == _IOCTL_BLOCK_COUNT:
            return self.block_count
        if op == _IOCTL_BLOCK_SIZE:
            return self.block_size
        if self.cut:
            return -EIO
        if op == _IOCTL_ERASE:
            return self._erase(arg)
        if op == _IOCTL_INIT or op == _IOCTL_DEINIT or op == _IOCTL_SYNC:
            return 0
        return -22  # EINVAL: not an operation this device knows

    def unused_from(self, first_block):
        """True if every block from first_block on is erased (never held data)."""
        scratch = self._scratch
        f = self._f
        f.seek(first_block * self.block_size)
        left = (self.block_count - first_block) * self.block_size
        while left > 0:
            k = f.readinto(scratch)
            if not k:
                break
            for i in range(k):
                if scratch[i] != 0xFF:
                    return False
            left -= k
        return True


def mount(bdev, mount_point):
    """Mount littlefs from `bdev` at mount_point; format only a flash that never held data.

    A format cut short by power loss leaves blocks 0-1 half written and all others erased:
    that is formatted again. A flash with data on it that does not mount raises OSError
    instead of being wiped (a boot failure is better than losing unsynced sessions).
    """
    import vfs

    try:
        fs = vfs.VfsLfs2(bdev, mtime=False)
    except OSError:
        if not bdev.unused_from(2):
            raise
        vfs.VfsLfs2.mkfs(bdev)
        fs = vfs.VfsLfs2(bdev, mtime=False)
    vfs.mount(fs, mount_point)
    return fs
