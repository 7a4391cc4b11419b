"""One workflow at a time per output folder: a lock file holding the PID and host of its owner.

Snakemake's own lock guards a working directory; two clones (or two working directories)
writing to one ``output_dir`` would run every job twice. This lock lives in ``output_dir``.
A lock left by a killed workflow is recognised (its PID no longer runs on this host) and taken
over, so rerunning after a kill needs no manual step.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

LOCK_NAME = ".brainbridge.lock"


class LockedError(RuntimeError):
    """The output folder is in use by another running workflow."""


def lock_path(output_dir: str | os.PathLike) -> Path:
    return Path(output_dir) / LOCK_NAME


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def _read(path: Path) -> dict:
    try:
        owner = json.loads(path.read_text(encoding="utf-8"))
        return owner if isinstance(owner, dict) else {}
    except (OSError, ValueError):
        return {}


def _stale(owner: dict) -> bool:
    """True when the owner is certainly gone: same host and its PID no longer runs."""
    if owner.get("host") != socket.gethostname():
        return False
    pid = owner.get("pid")
    return not isinstance(pid, int) or not _running(pid)


def acquire(output_dir: str | os.PathLike, *, pid: int | None = None) -> Path:
    """Take the lock of ``output_dir`` for process ``pid`` (default: this one).

    Raises :class:`LockedError` naming the owner and the fix when another live workflow holds
    it; a stale lock (its process is gone) is replaced.
    """
    path = lock_path(output_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    me = {"pid": pid or os.getpid(), "host": socket.gethostname(), "cwd": os.getcwd()}
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _read(path)
            if owner.get("pid") == me["pid"] and owner.get("host") == me["host"]:
                return path  # already ours
            if not _stale(owner):
                raise LockedError(
                    f"output_dir {Path(output_dir)} is in use by another workflow (pid "
                    f"{owner.get('pid')} on {owner.get('host')}, started in "
                    f"{owner.get('cwd')}); wait until it finishes, or give this one another "
                    f"output_dir. If no such workflow runs any more, delete {path}."
                ) from None
            path.unlink(missing_ok=True)  # its owner was killed: take it over
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(me, handle)
        return path
    raise LockedError(f"could not take the lock {path}; another workflow keeps taking it.")


def release(output_dir: str | os.PathLike, *, pid: int | None = None) -> None:
    """Remove the lock of ``output_dir`` if this process (or ``pid``) holds it."""
    path = lock_path(output_dir)
    owner = _read(path)
    if owner.get("pid") == (pid or os.getpid()) and owner.get("host") == socket.gethostname():
        path.unlink(missing_ok=True)
