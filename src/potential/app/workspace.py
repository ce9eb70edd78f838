"""One writer per workspace: a lock every command that writes to a workspace holds while it runs.

The lock is an advisory `flock` on `W/.potential.lock`, so the kernel releases it when the process ends,
however it ends: a lock left by a killed run is simply free again (the file's last holder is then named
in no error). While it is held the file says who holds it (pid, command, since), and a second writer
exits at once with exit code 2 and that line.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from potential.errors import InputError, PotentialError

LOCK_NAME = ".potential.lock"


def usable_workspace(workspace: Path) -> Path:
    """The workspace folder, created if needed; refused (exit 2) when it cannot hold outputs."""
    workspace = Path(workspace)
    if workspace.exists() and not workspace.is_dir():
        raise InputError(f"--out {workspace}: is a file, not a folder; pass a folder for the workspace.")
    try:
        workspace.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"--out {workspace}: cannot create the workspace folder ({exc.strerror}); pass a folder you can write to."
        ) from None
    if not os.access(workspace, os.W_OK | os.X_OK):
        raise InputError(f"--out {workspace}: the folder is not writable; pass a folder you can write to.")
    return workspace


class WorkspaceLock:
    """The held lock on one workspace; `release()` (or the end of the process) frees it."""

    def __init__(self, workspace: Path, command: str):
        created = not Path(workspace).exists()
        self.path = usable_workspace(workspace) / LOCK_NAME
        self._fd: int | None = None
        self._finalizer: weakref.finalize | None = None
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _describe(fd)
                os.close(fd)
                raise PotentialError(
                    f"{workspace}: workspace busy ({holder}); wait for that command to finish, or use another --out."
                ) from None
            except OSError:  # a file system without flock: run unlocked rather than not at all
                os.close(fd)
                return
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # the holder released and removed the file between our open and our lock: again
        record = {
            "pid": os.getpid(),
            "command": command,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": socket.gethostname(),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        self._fd = fd
        folder = self.path.parent if created else None
        self._finalizer = weakref.finalize(self, _unlock, fd, self.path, folder)

    def release(self) -> None:
        if self._finalizer is not None:
            self._finalizer()


def _unlock(fd: int, path: Path, created: Path | None) -> None:
    """Remove the lock file (a command leaves no trace of its lock), then free it; a workspace folder the
    command created and left empty (it was refused before writing anything) goes too."""
    try:
        with contextlib.suppress(OSError):
            path.unlink()
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    if created is not None:
        with contextlib.suppress(OSError):
            created.rmdir()  # only if empty


def _describe(fd: int) -> str:
    """Who holds the lock, from what the holder wrote into the file."""
    try:
        holder = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (ValueError, OSError):
        holder = {}
    if not holder:
        return "another potential command is writing to it"
    return f"pid {holder.get('pid')}, potential {holder.get('command')}, since {holder.get('since')}"


_HELD: dict[Path, WorkspaceLock] = {}


@contextlib.contextmanager
def holding(workspace: Path, command: str) -> Iterator[None]:
    """Hold the workspace's lock for the block; a no-op when this process already holds it (a stage of a
    command that holds it for all its stages)."""
    key = Path(workspace).resolve()
    if key in _HELD:
        yield
        return
    lock = WorkspaceLock(key, command)
    _HELD[key] = lock
    try:
        yield
    finally:
        del _HELD[key]
        lock.release()
