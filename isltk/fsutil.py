"""Crash-safe file writes: a reader sees the old file or the complete new one, never half of one."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write through `write(handle)` into a temp file beside `path`, fsync, then rename over `path`."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda handle: handle.write(data))


def atomic_write_json(path: Path, payload: Any) -> None:
    atomic_write_bytes(path, (json.dumps(payload, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))


def remove_stale_temps(folder: Path) -> int:
    """Delete temp files a killed writer left behind; returns how many."""
    stale = list(folder.glob(".*.tmp-*"))
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


LOCK_FILE = ".isltk.lock"


class FolderLock:
    """An exclusive lock on a folder isltk writes (a run folder, a prepared cache), held while this object lives
    or until `release()`: a second `train` into the same run folder or `prepare` into the same cache stops at
    once with one line naming the holder, instead of the two clobbering each other's files. flock locks end
    with the process, so a killed run never leaves a stale lock behind."""

    def __init__(self, folder: Path, what: str) -> None:
        import fcntl

        from isltk.errors import IsltkError

        folder.mkdir(parents=True, exist_ok=True)
        self._handle = (folder / LOCK_FILE).open("a+", encoding="utf-8")
        try:
            fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._handle.seek(0)
            holder = self._handle.read().strip() or "another process"
            self._handle.close()
            raise IsltkError(f"{folder}: in use by {holder}; wait for it to finish or choose another folder") from None
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(f"isltk {what} (pid {os.getpid()})\n")
        self._handle.flush()

    def release_and_remove_if_unused(self) -> None:
        """Release, and delete the folder when nothing but the lock file is in it (a command that failed before
        writing anything leaves no empty folder behind; a folder with any other file is kept as it is)."""
        self.release()
        folder = Path(self._handle.name).parent
        if {p.name for p in folder.iterdir()} <= {LOCK_FILE}:
            (folder / LOCK_FILE).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                folder.rmdir()

    def release(self) -> None:
        if not self._handle.closed:
            self._handle.truncate(0)  # no holder any more (a killed holder's line is overwritten by the next)
            self._handle.close()  # closing the file drops the flock
