"""Deploy: cross-compile the firmware into a bundle, and install a bundle on a board."""

from __future__ import annotations

from repcue.errors import BuildError
from repcue.firmware_build.bundle import BundleFile, build, read_index
from repcue.firmware_build.install import InstallReport, install
from repcue.firmware_build.romfs import build_image

__all__ = [
    "BuildError",
    "BundleFile",
    "InstallReport",
    "build",
    "build_image",
    "install",
    "read_index",
]
