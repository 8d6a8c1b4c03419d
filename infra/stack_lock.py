"""One local stack per state directory: an exclusive lock held for the stack's whole life.

`.local/stack.lock` is locked with flock(2) by the running stack; the kernel releases it
when the process ends, however it ends (Ctrl-C, crash, kill -9), so a stale lock is
impossible. The lock file holds the owner's pid, for messages only. `make reset` takes
the same lock and refuses while a stack holds it. Standard library only, so `make reset`
works without the project's virtualenv.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

LOCK_NAME = "stack.lock"
PID_NAME = "stack.pid"  # kept for tools that look for it; the lock is what counts


class StackLock:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it.

        Creates the state directory and an empty lock file if they are missing, and writes
        nothing else: a refused second stack leaves the first one's files as they were.
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    @property
    def held(self) -> bool:
        return self._fd is not None

    def holder(self) -> str:
        """The pid written by whoever holds the lock ("unknown" if it wrote none)."""
        try:
            return self.path.read_text(encoding="utf-8").strip() or "unknown"
        except OSError:
            return "unknown"

    def announce(self) -> None:
        """Write our pid into the lock file (and stack.pid) once the stack is sure to start."""
        assert self._fd is not None, "announce() needs the lock"
        pid = str(os.getpid())
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, pid.encode(), 0)
        (self.state_dir / PID_NAME).write_text(pid, encoding="utf-8")

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            (self.state_dir / PID_NAME).unlink(missing_ok=True)
            os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None
