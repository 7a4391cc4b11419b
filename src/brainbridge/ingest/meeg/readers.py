"""Reading raw M/EEG recordings (any format MNE reads) with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import mne

from brainbridge.ingest.meeg.errors import IngestError

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


def read_raw(path: str | Path, *, preload: bool = True) -> mne.io.BaseRaw:
    """Read one raw recording; a missing, unknown or unreadable file raises naming it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"raw recording {path} does not exist; check the dataset's path.")
    if _suffix(path) not in FORMATS:
        raise IngestError(
            f"raw recording {path}: unknown extension {_suffix(path)!r}; brainbridge reads "
            f"{sorted(FORMATS)} (convert the file, e.g. with MNE, to FIF)."
        )
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
