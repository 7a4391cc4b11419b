"""Precomputed brain RDMs as stores of kind ``rdms`` (region x replicate x stimulus x stimulus2).

RDM files: MATLAB struct arrays such as rsatoolbox's ``92_brainRDMs.mat``, numpy ``.npz`` /
``.npy`` arrays such as the Algonauts RDMs, whose stimulus ids come from a stimulus manifest or
image folder (the ids of the activation extraction, so that brain RDMs join activation stores by
id). Category RDMs of single-trial responses are computed in :mod:`brainbridge.align.categories`.
"""

from __future__ import annotations

import logging
import zipfile
import zlib
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.io import loadmat

from brainbridge.atomic import atomic_path
from brainbridge.store.rdms import check_rdms, rdms_dataset

__all__ = [
    "check_rdms",
    "rdms_dataset",
    "read_rdm_file",
    "read_rdm_mat",
    "read_rdm_npz",
    "read_rdms",
    "stimulus_ids",
    "write_rdm_npz",
]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- precomputed RDM files


@contextmanager
def _named_errors(path, kind: str):
    """Errors of a damaged file (truncated, failing a CRC) as a ValueError naming it."""
    try:
        yield
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, TypeError) as err:
        raise ValueError(
            f"RDM file {path} could not be read as a {kind} file ({type(err).__name__}: {err}); "
            "it is truncated or damaged. Copy or export it again."
        ) from err
    except ValueError as err:
        if str(path) in str(err):
            raise
        raise ValueError(
            f"RDM file {path} could not be read as a {kind} file ({err}); it is truncated, "
            "damaged or of another format. Copy or export it again."
        ) from err


def read_rdm_mat(path: str | Path, variable: str = "RDMs") -> tuple[np.ndarray, np.ndarray]:
    """Square RDMs and names from a MATLAB struct array (fields RDM, name), e.g. rsatoolbox demos.

    Returns ``rdms`` shaped like the struct array plus (n, n) (e.g. 4 subjects x 2 sessions x
    92 x 92) and their names with the struct array's shape; wrap with
    ``RDMVectors.from_square`` for the alignment metrics. A plain numeric variable
    (..., n, n) is returned as is, with names ``"1", "2", ...``.
    """
    with _named_errors(path, "MATLAB"):
        content = loadmat(path)
    if variable not in content:
        found = [k for k in content if not k.startswith("__")]
        raise ValueError(
            f"{path} has no variable {variable!r} (found {found}); set `variable` of this "
            "rdms entry to one of them."
        )
    structs = content[variable]
    fields = structs.dtype.names or ()
    if not fields and structs.dtype.kind in "fiu":
        return _numeric_rdms(structs, path, variable)
    if not {"RDM", "name"} <= set(fields):
        raise ValueError(f"{path}: {variable} lacks fields RDM and name (has {list(fields)}).")
    shape = structs.shape[1:] if structs.shape[:1] == (1,) else structs.shape
    flat = structs.reshape(shape).ravel(order="C")
    rdms = np.stack([np.asarray(s["RDM"], dtype=np.float64) for s in flat])
    if rdms.ndim != 3 or rdms.shape[1] != rdms.shape[2]:
        raise ValueError(f"{path}: the RDM fields are not square matrices ({rdms.shape[1:]}).")
    names = np.array([str(np.asarray(s["name"]).ravel()[0]) for s in flat])
    return rdms.reshape(*shape, *rdms.shape[1:]), names.reshape(shape)


def _numeric_rdms(array: np.ndarray, path, variable: str) -> tuple[np.ndarray, np.ndarray]:
    rdms = np.asarray(array, dtype=np.float64)
    if rdms.ndim < 2 or rdms.shape[-1] != rdms.shape[-2]:
        raise ValueError(
            f"{path}: variable {variable!r} has shape {rdms.shape}; expected square RDMs "
            "(..., n, n) with the stimuli on the last two axes."
        )
    lead = rdms.shape[:-2]
    names = np.arange(1, int(np.prod(lead)) + 1).astype(str).reshape(lead)
    return rdms, names


def read_rdm_npz(path: str | Path, variable: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Square RDMs (..., n, n) and their names from an ``.npz`` (or ``.npy``) file.

    ``variable`` defaults to the file's only array, or ``rdms`` (files of
    :func:`write_rdm_npz`, whose ``names`` array gives the names). Names default to
    ``"1", "2", ...``.
    """
    path = Path(path)
    if path.suffix == ".npy":
        with _named_errors(path, "numpy"):
            array = np.load(path, allow_pickle=False)
        return _numeric_rdms(array, path, "(array)")
    with _named_errors(path, "numpy .npz"), np.load(path, allow_pickle=False) as content:
        keys = list(content.keys())
        if variable is None:
            variable = "rdms" if "rdms" in keys else keys[0] if len(keys) == 1 else None
        if variable not in keys:
            raise ValueError(
                f"{path} has arrays {keys}; set `variable` of this rdms entry to the one "
                "holding the RDMs."
            )
        rdms, names = _numeric_rdms(content[variable], path, variable)
        if "names" in keys and variable == "rdms":
            names = np.asarray(content["names"], dtype=str).reshape(names.shape)
    return rdms, names


def read_rdm_file(path: str | Path, variable: str | None = None) -> tuple[np.ndarray, list[str]]:
    """RDMs of one region as (replicate, n, n) with replicate names, from .mat/.npz/.npy."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"RDM file {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".mat":
        rdms, names = read_rdm_mat(path, variable or "RDMs")
    elif suffix in (".npz", ".npy"):
        rdms, names = read_rdm_npz(path, variable)
    else:
        raise ValueError(
            f"RDM file {path}: unknown format {suffix!r}; give a MATLAB .mat (struct array "
            "with fields RDM, name, or a numeric array) or a numpy .npz / .npy (..., n, n)."
        )
    n_stim = rdms.shape[-1]
    return rdms.reshape(-1, n_stim, n_stim), [str(s) for s in np.ravel(names)]


def stimulus_ids(stimuli: str | Path, columns: dict | None = None) -> list[str]:
    """Stimulus ids of a manifest TSV or a folder of images (file stems, sorted).

    The same ids as the activation extraction (:func:`brainbridge.extract.stimuli.read_manifest`).
    """
    from brainbridge.extract.stimuli import read_manifest

    return read_manifest(stimuli, columns)["stimulus"].astype(str).tolist()


def read_rdms(
    entries: Sequence[dict],
    files: Sequence[str | Path],
    stimuli: str | Path,
    *,
    columns: dict | None = None,
    modality: str = "fmri",
    dissimilarity: str = "unknown (precomputed)",
) -> xr.Dataset:
    """An ``rdms`` Dataset from precomputed RDM files, one entry per region.

    ``entries`` are ``{region, variable?}`` (a dataset's ``rdms`` config), ``files`` their RDM
    files in the same order. Every region needs the same number of replicates; their labels
    are the names in the files when all regions agree, else ``"1", "2", ...`` (matched by
    position, as logged). Stimulus ids come from the manifest or image folder ``stimuli``, in
    its row order, which must be the RDM's row order.
    """
    if len(entries) != len(files) or not entries:
        raise ValueError(f"{len(entries)} rdms entries but {len(files)} RDM files.")
    regions = [str(e["region"]) for e in entries]
    if len(set(regions)) != len(regions):
        raise ValueError(f"rdms entries: region names must be unique, got {regions}.")
    ids = stimulus_ids(stimuli, columns)
    stacks, labels = [], []
    for entry, path in zip(entries, files):
        rdms, names = read_rdm_file(path, entry.get("variable"))
        if rdms.shape[-1] != len(ids):
            raise ValueError(
                f"RDM file {path} (region {entry['region']!r}) is {rdms.shape[-1]} x "
                f"{rdms.shape[-1]} but the stimulus set {stimuli} has {len(ids)} stimuli; "
                "give the manifest of the stimuli in the RDM's row order."
            )
        if stacks and len(rdms) != len(stacks[0]):
            raise ValueError(
                f"RDM file {path} (region {entry['region']!r}) holds {len(rdms)} replicates, "
                f"{files[0]} holds {len(stacks[0])}; regions of one dataset share their "
                "replicates (subjects / sessions): put the others in a separate dataset."
            )
        stacks.append(rdms)
        labels.append(names)
    replicates = labels[0]
    if any(lab != replicates for lab in labels) or len(set(replicates)) != len(replicates):
        log.info("replicate names differ across regions or repeat: labelled by position")
        replicates = [str(i) for i in range(1, len(replicates) + 1)]
    return rdms_dataset(
        np.stack(stacks),
        regions=regions,
        replicates=replicates,
        stimuli=ids,
        modality=modality,
        dissimilarity=dissimilarity,
        source=", ".join(map(str, files)),
    )


def write_rdm_npz(path: str | Path, rdms: np.ndarray, labels, names=None) -> Path:
    """RDMs (..., n, n) with their stimulus labels (and RDM names) as an npz, atomically.

    :func:`read_rdm_npz` reads it back (``rdms``, ``names``); for exchange with numpy users.
    """
    extra = {} if names is None else {"names": np.asarray(names, dtype=str)}
    with atomic_path(path) as tmp:
        np.savez(tmp, rdms=np.asarray(rdms, float), labels=np.asarray(labels, dtype=str), **extra)
    return Path(path)
