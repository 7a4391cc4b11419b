"""Reading raw M/EEG recordings (any format MNE reads) with errors that name the file."""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import mne

from brainbridge.ingest.meeg.errors import IngestError
from brainbridge.integrity import CorruptFileError, check_length, gzip_length, is_gzip

log = logging.getLogger(__name__)

# extensions MNE's generic reader dispatches on, with the vendor they belong to
FORMATS = {
    ".fif": "Elekta/MNE FIF",
    ".fif.gz": "Elekta/MNE FIF",
    ".edf": "EDF/EDF+",
    ".bdf": "BioSemi BDF",
    ".vhdr": "BrainVision",
    ".set": "EEGLAB",
    ".ds": "CTF",
    ".con": "KIT/Yokogawa",
    ".sqd": "KIT/Yokogawa",
}


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".fif.gz" if name.endswith(".fif.gz") else path.suffix.lower()


def _edf_size(path: Path) -> tuple[int, str] | None:
    """Size an EDF(+) / BDF file's header promises (header + records x record bytes)."""
    with open(path, "rb") as fh:
        head = fh.read(256)
        try:
            header_bytes, n_records = int(head[184:192]), int(head[236:244])
            n_signals = int(head[252:256])
            fh.seek(256 + 216 * n_signals)  # per-signal fields before "samples per record"
            samples = sum(int(fh.read(8)) for _ in range(n_signals))
        except ValueError:
            return None  # not a readable header: MNE's own error names the problem
    if n_records < 0:  # -1: unknown (recording not closed); MNE infers it from the size
        return None
    width = 3 if head[:1] == b"\xff" else 2  # BDF: 24-bit samples, EDF: 16-bit
    record = samples * width
    return header_bytes + n_records * record, (
        f"{header_bytes} header bytes + {n_records} records x {record} bytes"
    )


def _check_fif(path: Path) -> None:
    """Walk a FIF file's tag headers: none may overrun the file and every block must close."""
    size = path.stat().st_size
    pos, depth, steps = 0, 0, 0
    with open(path, "rb") as fh:
        while pos < size and steps <= size // 16:
            fh.seek(pos)
            head = fh.read(16)
            kind, _, length, following = struct.unpack(">iIii", head.ljust(16, b"\0"))
            if len(head) < 16 or length < 0 or pos + 16 + length > size:
                why = f"{max(length, 0)} data bytes after its 16-byte header"
                check_length(
                    path, size, pos + 16 + max(length, 0), why, who=f"the FIF tag at byte {pos}"
                )
            depth += (kind == 104) - (kind == 105)  # FIFF_BLOCK_START / FIFF_BLOCK_END
            if following == -1:  # FIFFV_NEXT_NONE: the last tag
                break
            pos = following if following > 0 else pos + 16 + length
            steps += 1
    if depth > 0:
        raise CorruptFileError(
            f"{path} is truncated: {depth} FIF block(s) are opened but never closed (the file "
            "ends early). Copy or export it again; nothing was read from it."
        )


def check_recording(path: str | Path, what: str = "raw recording") -> None:
    """Refuse a recording whose size disagrees with its header (truncated EDF / BDF / FIF) or
    whose gzip stream fails its CRC (``.fif.gz``), with an :class:`IngestError` naming it."""
    try:
        _check_file(Path(path))
    except CorruptFileError as err:
        raise IngestError(f"{what} {err}") from None


def _check_file(path: Path) -> None:
    suffix = _suffix(path)
    if is_gzip(path):
        gzip_length(path)
        return
    if suffix in (".edf", ".bdf"):
        promised = _edf_size(path)
        actual = path.stat().st_size
        if promised is not None:
            check_length(path, actual, *promised)
            if actual > promised[0]:
                log.warning(
                    "%s: %d bytes after the last record (%s) are ignored",
                    path,
                    actual - promised[0],
                    promised[1],
                )
    elif suffix == ".fif":
        _check_fif(path)


def read_raw(path: str | Path, *, preload: bool = True) -> mne.io.BaseRaw:
    """Read one raw recording; a missing, unknown, truncated or unreadable file raises naming it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"raw recording {path} does not exist; check the dataset's path.")
    if _suffix(path) not in FORMATS:
        raise IngestError(
            f"raw recording {path}: unknown extension {_suffix(path)!r}; brainbridge reads "
            f"{sorted(FORMATS)} (convert the file, e.g. with MNE, to FIF)."
        )
    check_recording(path)
    try:
        raw = mne.io.read_raw(path, preload=preload, verbose="error")
    except Exception as err:  # MNE raises many types for corrupt / truncated files
        raise IngestError(
            f"could not read raw recording {path} ({type(err).__name__}: {err}). The file may be "
            "truncated or corrupt; re-export it or check the extension."
        ) from err
    if raw.n_times < 2:
        raise IngestError(f"raw recording {path} holds no samples; re-export it.")
    return raw
