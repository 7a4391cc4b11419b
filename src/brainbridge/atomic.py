"""Atomic writes of files and directories (Zarr stores): the project's one writer mechanism.

Everything is written to a hidden temporary sibling ``.tmp-XXXXXXXX-NAME`` of its target and
renamed into place only when complete, so a killed job never leaves an output that looks
finished; a failed overwrite keeps the previous output. The suffix of the target is kept
(``.tmp-1a2b3c4d-sim_raw.fif``) so that writers that check extensions work. Siblings left by a
killed writer are removed by the next write of the same target.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

PREFIX = ".tmp-"
# .tmp-<8 hex>-NAME (this module); .NAME.tmp-<8 hex> and .NAME.old-<8 hex> (earlier writers)
_TEMPORARY = re.compile(r"^\.tmp-[0-9a-f]{8}-(?P<a>.+)$|^\.(?P<b>.+)\.(?:tmp|old)-[0-9a-f]{8}$")


def temporary_sibling(path: str | os.PathLike) -> Path:
    """A fresh hidden name next to ``path`` for writing it (nothing is created)."""
    path = Path(path)
    return path.with_name(f"{PREFIX}{uuid.uuid4().hex[:8]}-{path.name}")


def target_of(path: str | os.PathLike) -> Path | None:
    """The output that the temporary sibling ``path`` was being written for, else None."""
    path = Path(path)
    match = _TEMPORARY.match(path.name)
    if match is None:
        return None
    return path.with_name(match.group("a") or match.group("b"))


def stale_siblings(path: str | os.PathLike) -> list[Path]:
    """Temporary siblings of ``path`` (left by writers that were killed before renaming)."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    return sorted(p for p in path.parent.iterdir() if target_of(p) == path)


def remove(path: Path) -> None:
    """Delete a file or a directory tree (nothing if it does not exist)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


def clean_stale(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary siblings of ``path``; return what was removed.

    Each output has one writer (Snakemake runs one job per output, and one workflow per output
    folder, see :mod:`brainbridge.lock`), so a sibling found before a write is stale.
    """
    stale = stale_siblings(path)
    for sibling in stale:
        remove(sibling)
    return stale


def replace(new: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Move the finished ``new`` to ``target``, replacing a file or a directory tree.

    A directory cannot be replaced in one rename: the old one is first moved aside to a
    temporary sibling (restored if the second rename fails), then deleted.
    """
    new, target = Path(new), Path(target)
    if not target.is_dir() or target.is_symlink():
        os.replace(new, target)
        return target
    old = temporary_sibling(target)
    os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(old, target)
        raise
    remove(old)
    return target


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` (a file or a directory to create); it replaces
    ``path`` only if the block succeeds, and is removed otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(path)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        replace(tmp, path)
    finally:
        remove(tmp)


def write_bytes(data: bytes, path: str | os.PathLike) -> Path:
    """Write a binary file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(text: str, path: str | os.PathLike) -> Path:
    """Write a text file (UTF-8) atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a tab-separated table atomically (missing values as ``n/a``)."""
    return write_text(table.to_csv(sep="\t", index=False, na_rep="n/a"), path)
