"""Content checksums of stores: recorded when a store is written, verified when it is read.

A store's ``checksum`` attr holds the SHA-256 of its metadata (the root ``zarr.json`` without
the ``checksum`` attr itself: every attr, the provenance, the consolidated array metadata) and,
per array, of its files (array metadata and compressed chunks, by relative path). Hashing the
stored bytes needs no decompression: verifying a store costs one read of its files. A store
whose data or attrs were edited after it was written (an ``sfreq`` changed by hand, the
provenance removed, a chunk overwritten) no longer matches, and is refused with the fix.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
from pathlib import Path

from brainbridge.store import names as n
from brainbridge.store.contract import StoreError

ALGORITHM = "sha256"
_BLOCK = 1 << 20
# files that tools other than Zarr put in a store folder: Snakemake's marker of directory outputs
FOREIGN = frozenset({".snakemake_timestamp"})


def _root_metadata(path: Path) -> dict:
    try:
        return json.loads((path / "zarr.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise StoreError(f"{path}: its zarr.json cannot be read ({err}). {_fix(path)}") from err


def _metadata_digest(meta: dict) -> str:
    meta = json.loads(json.dumps(meta))  # a deep copy
    meta.get("attributes", {}).pop(n.CHECKSUM, None)
    text = json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _tree_digest(root: Path, entry: Path) -> str:
    """SHA-256 over every file under ``entry`` (relative path, size and bytes, sorted)."""
    digest = hashlib.sha256()
    files = [entry] if entry.is_file() else sorted(p for p in entry.rglob("*") if p.is_file())
    files = [p for p in files if p.name not in FOREIGN]
    for file in files:
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        digest.update(str(file.stat().st_size).encode() + b"\0")
        with open(file, "rb") as handle:
            while block := handle.read(_BLOCK):
                digest.update(block)
    return digest.hexdigest()


def compute(path: str | os.PathLike) -> dict:
    """The checksum record of the store at ``path`` as it is on disk now."""
    path = Path(path)
    arrays = {
        entry.name: _tree_digest(path, entry)
        for entry in sorted(path.iterdir())
        if entry.name != "zarr.json" and entry.name not in FOREIGN
    }
    return {
        "algorithm": ALGORITHM,
        "metadata": _metadata_digest(_root_metadata(path)),
        "arrays": arrays,
    }


def seal(path: str | os.PathLike) -> dict:
    """Record the checksum of a freshly written store in its root attrs; return the record."""
    path = Path(path)
    record = compute(path)
    meta = _root_metadata(path)
    meta.setdefault("attributes", {})[n.CHECKSUM] = record
    (path / "zarr.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), "utf-8")
    return record


def _fix(path: Path, step: str | None = None) -> str:
    which = f" (step {step!r})" if step else ""
    return (
        f"Rerun the step that wrote it{which}: delete it (rm -r {shlex.quote(str(path))}) and "
        "rerun the workflow, which writes it again."
    )


def verify(path: str | os.PathLike) -> dict:
    """Check the store at ``path`` against its recorded checksum; return the record.

    Raises :class:`StoreError` naming what changed (attrs/metadata, or which arrays) and the fix.
    """
    path = Path(path)
    meta = _root_metadata(path)
    attrs = meta.get("attributes", {})
    step = (attrs.get(n.PROVENANCE) or {}).get("step") if isinstance(attrs, dict) else None
    recorded = attrs.get(n.CHECKSUM) if isinstance(attrs, dict) else None
    if not isinstance(recorded, dict) or recorded.get("algorithm") != ALGORITHM:
        raise StoreError(
            f"{path}: no content checksum (attr {n.CHECKSUM!r}): the store was written by an "
            f"older brainbridge, or edited by hand. {_fix(path, step)}"
        )
    if _metadata_digest(meta) != recorded.get("metadata"):
        raise StoreError(
            f"{path}: its attrs or metadata changed after it was written (zarr.json no longer "
            f"matches its recorded checksum: e.g. an attr such as sfreq edited, or the "
            f"provenance removed). {_fix(path, step)}"
        )
    found = compute(path)["arrays"]
    expected = recorded.get("arrays", {})
    changed = sorted(k for k in set(found) | set(expected) if found.get(k) != expected.get(k))
    if changed:
        raise StoreError(
            f"{path}: the data of {', '.join(changed)} changed after the store was written "
            f"(files added, removed or edited). {_fix(path, step)}"
        )
    return recorded
