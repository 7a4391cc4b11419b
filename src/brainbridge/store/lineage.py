"""The chain of inputs of a store, back to the raw files (``brainbridge provenance STORE``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from brainbridge.store import names as n
from brainbridge.store.checksum import verify
from brainbridge.store.contract import StoreError
from brainbridge.store.provenance import checksum


@dataclass
class Node:
    """One file or store of the chain and what became of it since it was recorded."""

    key: str
    path: str
    recorded: str | None  # SHA-256 recorded by the step that read it (None for the root)
    status: str  # "ok", "changed", "missing", or a store's verification error
    step: str | None = None  # the step that wrote it, for stores
    inputs: list[Node] = field(default_factory=list)


def _store_provenance(path: Path) -> dict | None:
    """The provenance attrs of a Zarr store (read from its metadata only), else None."""
    meta_file = path / "zarr.json"
    if not meta_file.is_file():
        return None
    try:
        attrs = json.loads(meta_file.read_text(encoding="utf-8")).get("attributes", {})
    except (OSError, ValueError):
        return None
    return attrs.get(n.PROVENANCE) if isinstance(attrs, dict) else None


def _node(key: str, path: Path, recorded: str | None, seen: set[Path]) -> Node:
    if not path.exists():
        return Node(key, str(path), recorded, "missing")
    status = "ok"
    if recorded is not None and checksum(path) != recorded:
        status = "changed since it was read"
    prov = _store_provenance(path) if path.is_dir() else None
    node = Node(key, str(path), recorded, status)
    if prov is None:
        return node
    try:
        verify(path)
    except StoreError as err:
        node.status = f"refused: {err}"
    node.step = prov.get("step")
    resolved = path.resolve()
    if resolved in seen:
        return node
    seen = seen | {resolved}
    for name, entry in (prov.get("inputs") or {}).items():
        node.inputs.append(_node(name, Path(entry["path"]), entry.get("sha256"), seen))
    return node


def lineage(path: str | os.PathLike) -> Node:
    """The store at ``path`` with its inputs, theirs, and so on down to the raw files.

    Each input is looked up where the step read it (paths as recorded, relative to the
    directory the workflow ran in) and compared with the checksum recorded then.
    """
    path = Path(path)
    if _store_provenance(path) is None:
        raise StoreError(f"{path}: not a store with provenance (no zarr.json with a provenance).")
    return _node("store", path, None, set())


def format_lineage(node: Node, indent: int = 0) -> list[str]:
    """Indented lines: ``key: path [step] (status)`` per node, inputs below their store."""
    pad = "  " * indent
    step = f"  <- step {node.step}" if node.step else ""
    digest = f"  sha256 {node.recorded[:12]}" if node.recorded else ""
    lines = [f"{pad}{node.key}: {node.path}{step}{digest}  [{node.status}]"]
    for child in node.inputs:
        lines.extend(format_lineage(child, indent + 1))
    return lines
