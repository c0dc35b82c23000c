"""Paths the user named: checked before use, so a typo is a PathError saying which path
and what is wrong with it, never a traceback and never a folder created by mistake.

Only the default locations (the user data dir, a temporary image) are created; a path the
user named must exist, except the file itself when the command writes it.
"""

from __future__ import annotations

import errno
from pathlib import Path

from repcue.errors import PathError

_WHY = {
    errno.ENOENT: "does not exist",
    errno.ENOTDIR: "has a file where a folder should be",
    errno.EISDIR: "is a folder, not a file",
    errno.EACCES: "is not accessible (permission denied)",
    errno.EPERM: "is not accessible (operation not permitted)",
    errno.EROFS: "is on a read-only file system",
    errno.ENOSPC: "is on a full disk",
    errno.ENAMETOOLONG: "is too long a name",
}


def path_error(err: OSError, path: Path | str, what: str) -> PathError:
    """The PathError for an OSError met while using `path` (`what` says which file it is:
    "plan file", "--db")."""
    why = _WHY.get(err.errno or 0, err.strerror or str(err))
    return PathError(f"{what} {path}: {why}", path=str(path))


def existing_file(path: Path | str, what: str) -> Path:
    """`path`, which must be a file that is there."""
    p = Path(path)
    if p.is_dir():
        raise PathError(f"{what} {path} is a folder, not a file", path=str(path))
    if not p.exists():
        raise PathError(f"{what} {path} does not exist", path=str(path))
    return p


def new_file(path: Path | str, what: str, *, overwrite: bool = True) -> Path:
    """`path` as a file this command may write: its folder is there, it is no folder
    itself, and (unless `overwrite`) it is not there yet."""
    p = Path(path)
    parent = p.parent
    if not parent.is_dir():
        why = "is not a folder" if parent.exists() else "does not exist"
        raise PathError(f"{what} {path}: the folder {parent} {why}", path=str(path))
    if p.is_dir():
        raise PathError(f"{what} {path} is a folder, not a file", path=str(path))
    if p.exists() and not overwrite:
        raise PathError(f"{what} {path} exists; pass --force to overwrite it", path=str(path))
    return p


def existing_folder(path: Path | str, what: str) -> Path:
    """`path`, which must be a folder that is there."""
    p = Path(path)
    if not p.is_dir():
        why = "is not a folder" if p.exists() else "does not exist"
        raise PathError(f"{what} {path} {why}", path=str(path))
    return p


def new_folder(path: Path | str, what: str) -> Path:
    """`path` as a folder this command may fill: its parent is there, and it is no file."""
    p = Path(path)
    existing_folder(p.parent, f"{what} {path}: the folder")
    if p.exists() and not p.is_dir():
        raise PathError(f"{what} {path} is a file, not a folder", path=str(path))
    return p


def write_text(path: Path, text: str, what: str) -> None:
    """Write a whole text file, a failure as a PathError."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise path_error(err, path, what) from err
