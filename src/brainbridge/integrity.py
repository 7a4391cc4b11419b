"""Cheap checks that a data file is whole before a reader trusts it.

Readers call these before (or right after) parsing a file, so that a truncated or damaged file is
refused with its name and the fix instead of yielding part of its data: :func:`gzip_length`
decompresses a gzip stream once, discarding the output, and checks every member's CRC-32 and
length; :func:`check_length` compares a file's size with the size its header promises;
:func:`check_onsets` refuses negative or non-finite event times.
"""

from __future__ import annotations

import os
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 16  # input bytes a read (output stays bounded by the ratio)


class CorruptFileError(ValueError):
    """A file that is truncated or damaged; the message names it and the fix."""


def is_gzip(path: str | os.PathLike) -> bool:
    """Whether the file starts with the gzip magic bytes."""
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def gzip_length(path: str | os.PathLike) -> int:
    """Decompressed length of a gzip file whose every member's CRC-32 and length check out.

    Raises :class:`CorruptFileError` naming the file when the stream is damaged, fails its
    CRC or ends early. The result is cached per path, size and modification time.
    """
    path = Path(path).resolve()
    stat = path.stat()
    return _gzip_length(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=256)
def _gzip_length(path: str, size: int, mtime_ns: int) -> int:
    total, members = 0, 1
    stream = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer (CRC-32, length) checked
    with open(path, "rb") as fh:
        while data := fh.read(CHUNK):
            while data:
                if stream.eof:  # another member, or zero padding after the last one
                    data = data.lstrip(b"\0")
                    if not data:
                        break
                    if not data.startswith(GZIP_MAGIC[: len(data)]):
                        raise _damaged(path, f"stray bytes follow gzip member {members}")
                    stream, members = zlib.decompressobj(wbits=31), members + 1
                try:
                    total += len(stream.decompress(data))
                except zlib.error as err:
                    raise _damaged(path, f"gzip member {members} is damaged ({err})") from err
                data = stream.unused_data if stream.eof else b""
    if not stream.eof:
        raise _damaged(path, f"the gzip stream ends early (after {total} decompressed bytes)")
    return total


def _damaged(path, what: str) -> CorruptFileError:
    return CorruptFileError(
        f"{path}: {what}; the file is truncated or corrupt (failed CRC-32 or length check). "
        "Copy or download it again (compare its checksum with the source's)."
    )


def check_length(
    path: str | os.PathLike, actual: int, expected: int, why: str, *, who: str = "its header"
) -> None:
    """Refuse a file whose (decompressed) size ``actual`` is below what ``who`` promises.

    ``why`` says how the promise adds up (e.g. ``"256 header bytes + 800 records x 2560"``).
    """
    if actual < expected:
        raise CorruptFileError(
            f"{path} is truncated: {who} promises {expected} bytes ({why}) but it holds "
            f"{actual} ({expected - actual} missing). Copy or export it again; nothing was "
            "read from it."
        )


def check_onsets(onsets, source: str, fix: str, durations=None) -> None:
    """Refuse event onsets (and durations) that are NaN, infinite or negative.

    ``source`` names the file the events come from, ``fix`` says how to correct them.
    """
    for name, values in (("onset", onsets), ("duration", durations)):
        if values is None:
            continue
        try:
            values = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as err:
            raise CorruptFileError(f"{source}: the {name} column is not numeric; {fix}.") from err
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            rows = np.flatnonzero(bad)
            raise CorruptFileError(
                f"{source}: {len(rows)} event(s) with a negative, missing or non-finite {name} "
                f"(row(s) {rows[:5].tolist()}: {values[rows[:5]].tolist()}); {fix}."
            )


def read_table(path: str | os.PathLike, what: str, **kwargs):
    """``pandas.read_csv(path, sep="\\t", **kwargs)`` whose parse errors name the file."""
    import pandas as pd

    try:
        return pd.read_csv(path, sep="\t", **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise CorruptFileError(
            f"{what} {path} is not a readable tab-separated table ({type(err).__name__}: {err}); "
            "save it as UTF-8 text with a header row and tab-separated columns."
        ) from err
