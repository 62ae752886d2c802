"""Atomic writes: a file either keeps its old content or gets the whole new one; and what a
failed write means, in words a user can act on."""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# A temp file older than this beside a target that was just written is a kill's leftover, not
# a concurrent writer's: a live writer touches its temp at least once per chunk it writes
# (one call for classifier files and projects; classify_csv's slowest chunk, 10,000 rows on a
# slow CPU, takes minutes). An hour is far beyond that; a leftover costs only disk space.
STALE_TEMP_SECONDS = 3600.0
TEMP_NAME = r"\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp"  # what mkstemp makes of `.NAME.` + `.tmp`
ADVICE = {
    errno.EROFS: "choose a folder you can write to",
    errno.EACCES: "choose a folder you can write to, or change its permissions",
    errno.ENOSPC: "free some disk space or choose another disk",
    errno.EISDIR: "give a file name, not a folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "a part of the path is a file, not a folder",  # mkdir over a file
    errno.ENAMETOOLONG: "choose a shorter file name",
}


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds.
    An OSError that names no file (a full disk fails `write()`) is given `path` as its own."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        yield temp
        os.chmod(
            temp, path.stat().st_mode & 0o777 if path.exists() else 0o644
        )  # not mkstemp's 0600
        os.replace(temp, path)
    except OSError as error:
        if error.filename is None:  # a failed write() names no file: the user needs to know
            error.filename = str(path)
        raise
    finally:
        temp.unlink(missing_ok=True)
    sweep_stale_temps(path)


def sweep_stale_temps(path: Path, *, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove the temp files of earlier writes to `path` that a kill left behind (SIGKILL skips
    the clean-up above); only those untouched for `older_than` seconds, so a concurrent
    writer's temp stays. Returns what was removed; never raises (the write itself succeeded)."""
    removed = []
    cutoff = time.time() - older_than
    for name in glob.glob(f".{glob.escape(path.name)}.*.tmp", root_dir=path.parent):
        temp = path.parent / name
        with contextlib.suppress(OSError):  # gone meanwhile, or not ours to remove
            info = temp.lstat()
            ours = stood_for(temp).name == path.name and stat.S_ISREG(info.st_mode)
            if ours and info.st_mtime < cutoff:
                temp.unlink()
                removed.append(temp)
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as temp:
        temp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def describe_os_error(error: OSError, path: str | os.PathLike | None = None) -> str:
    """`cannot use /x/y: Read-only file system (choose a folder you can write to); nothing was
    changed.` for the common causes of a failed write. Names `path` (what the caller meant to
    write) if given, else the error's file, a temp by the file it stands for (the user never
    chose its name); a failed `write()` names no file: `cannot write: No space left ...`."""
    shown = path or error.filename
    where = f"use {stood_for(Path(os.fsdecode(shown)))}" if shown else "write"
    advice = ADVICE.get(error.errno, "check the path")
    return f"cannot {where}: {error.strerror or error} ({advice}); nothing was changed."


def stood_for(path: Path) -> Path:
    """`path` with each temp file or folder in it (ours are named `.NAME.XXXXXXXX.tmp`) named
    as the file or folder it is built for."""
    return Path(*(re.sub(rf"\A{TEMP_NAME}\Z", r"\g<target>", part) for part in path.parts))
