"""Provenance recorded in every store: inputs, config, code, packages, seed."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path

import brainbridge

PACKAGES = (
    "numpy",
    "scipy",
    "xarray",
    "zarr",
    "mne",
    "nilearn",
    "nibabel",
    "scikit-learn",
    "torch",
    "snakemake",
)


def checksum(path: str | os.PathLike, *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, or of every file of a directory (names and contents, sorted)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode())
        with open(file, "rb") as handle:
            while block := handle.read(chunk):
                digest.update(block)
    return digest.hexdigest()


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def code_version() -> str:
    """brainbridge version, plus the git commit of the source tree when there is one."""
    version = brainbridge.__version__
    root = Path(brainbridge.__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        return f"{version}+g{commit}{'.dirty' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return version


def _flat(inputs: Mapping) -> dict:
    """Inputs with lists spelled out one key each (``bold0``, ``bold1``, ...)."""
    flat = {}
    for key, value in inputs.items():
        if isinstance(value, list | tuple):
            flat.update({f"{key}{i}": p for i, p in enumerate(value)})
        else:
            flat[key] = value
    return flat


def provenance(
    *,
    inputs: Mapping[str, str | os.PathLike | Sequence[str | os.PathLike]] | None = None,
    config: Mapping | None = None,
    seed: int | None = None,
    step: str | None = None,
) -> dict:
    """The provenance record stored in a store's attrs.

    It holds no time stamp, so that two runs of one config write identical bytes (the file
    times and Snakemake's records say when a store was written).
    """
    return {
        "step": step,
        "inputs": {
            key: {"path": str(p), "sha256": checksum(p)} for key, p in _flat(inputs or {}).items()
        },
        "config": dict(config or {}),
        "seed": seed,
        "code_version": code_version(),
        "python": platform.python_version(),
        "packages": package_versions(),
    }
