"""One measuring run per results folder at a time: an advisory lock that names its holder.

The lock is an ``flock`` on ``<results>/.run.lock``. The kernel releases it when the last process holding
the file open ends, however it ends, so a stale lock cannot outlive its run. The runner hands the open file
to every measuring child, so the lock is held as long as any process of the run lives.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from reportgen.errors import ReportgenError

LOCK_NAME = ".run.lock"


class RunLock:
    """``with RunLock(results_dir):`` holds the folder's run lock, or fails in one line naming the holder."""

    def __init__(self, results_dir: Path) -> None:
        self.path = Path(results_dir) / LOCK_NAME
        self.fd: int | None = None

    def __enter__(self) -> RunLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ReportgenError(f"cannot create the run lock {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise ReportgenError(f"another reportgen run (pid {holder}, or a measuring process it started) is still "
                                 f"using {self.path.parent}; wait for it to end or stop it, then try again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the lock once no child holds it either
            self.fd = None
