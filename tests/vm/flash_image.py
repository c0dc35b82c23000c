"""A flash image for tests that read or prepare one in the VM (the sim board mounts its own).

from flash_image import mount_image
bdev = mount_image(path, "/flash", 4096, 64)
"""

from repcue_fw.boards.sim.flash import SimFlash, mount


def mount_image(path, mount_point="/flash", block_size=4096, block_count=64, cut_at=0, torn=True):
    """Open (or create) the flash image at `path` and mount it; return the SimFlash."""
    bdev = SimFlash(path, block_size, block_count, cut_at, torn)
    mount(bdev, mount_point)
    return bdev
