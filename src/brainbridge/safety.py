"""User-given names and output paths: the allowed spellings, and outputs kept in ``output_dir``.

Names of datasets, models and tokenizers become file names (``brain/NAME.zarr``), Snakemake
wildcards (``{dataset}__{model}``) and shell words; region and layer names become store labels
and report text. Each kind has one pattern (the same as in the config schema's ``$defs``):

- ``name`` (datasets, models, tokenizers): letters, digits and ``-``, single ``_`` between
  them; starts with a letter or digit. No dots, spaces, path separators, ``__`` (the separator
  of dataset and model in file names) or shell / HTML metacharacters.
- ``label`` (regions, ROIs, planted windows): letters, digits, ``_ . + -``; starts with a letter
  or digit; no ``..``.
- ``layer`` (module names or globs): letters, digits, ``_ . : -`` and the glob characters
  ``* ? [ ]``; no ``..``.

The module is stdlib-only so that every step can import it at no cost.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

MAX_LENGTH = {"name": 64, "label": 64, "layer": 256}
PATTERNS: dict[str, str] = {
    "name": r"^[A-Za-z0-9][A-Za-z0-9-]*(_[A-Za-z0-9-]+)*$",
    "label": r"^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.+-]*$",
    "layer": r"^(?!.*\.\.)[A-Za-z0-9_*?\[][A-Za-z0-9_.:*?\[\]-]*$",
}
RULES: dict[str, str] = {
    "name": "letters, digits and '-', single '_' between them, starting with a letter or digit "
    "(no dots, spaces, '/', '__' or shell / HTML characters)",
    "label": "letters, digits, '_', '.', '+', '-', starting with a letter or digit (no '..', "
    "spaces, '/' or shell / HTML characters)",
    "layer": "letters, digits, '_', '.', ':', '-' and the glob characters '* ? [ ]' (no '..', "
    "spaces, '/' or shell / HTML characters)",
}
_BAD = {
    "name": r"[^A-Za-z0-9-]+",
    "label": r"[^A-Za-z0-9_.+-]+",
    "layer": r"[^A-Za-z0-9_.:*?\[\]-]+",
}


class UnsafeNameError(ValueError):
    """A user-given name that could escape a folder, split a wildcard or reach a shell raw."""


class OutputEscapeError(ValueError):
    """An output path that resolves outside the workflow's output folder."""


def is_valid(name: object, kind: str = "name") -> bool:
    """Whether ``name`` is a string spelt as ``kind`` allows."""
    return (
        isinstance(name, str)
        and len(name) <= MAX_LENGTH[kind]
        and re.fullmatch(PATTERNS[kind], name) is not None
    )


def suggest(name: str, kind: str = "name") -> str:
    """An allowed spelling close to ``name`` (disallowed runs become ``_``)."""
    text = re.sub(_BAD[kind], "_", str(name))
    text = re.sub(r"_{2,}", "_", re.sub(r"\.{2,}", ".", text))
    text = re.sub(r"^[^A-Za-z0-9]+", "", text)[: MAX_LENGTH[kind]]
    text = text.rstrip("_")
    return text if is_valid(text, kind) else f"{kind}1"


def name_problem(name: object, kind: str = "name") -> str | None:
    """None when ``name`` is allowed; otherwise the rule and an allowed spelling."""
    if is_valid(name, kind):
        return None
    too_long = isinstance(name, str) and len(name) > MAX_LENGTH[kind]
    rule = f"at most {MAX_LENGTH[kind]} characters" if too_long else RULES[kind]
    return f"{kind} {name!r} is not allowed: use {rule}, e.g. {suggest(str(name), kind)!r}"


def check_name(name: object, key: str, kind: str = "name") -> str:
    """Return ``name`` if allowed, else raise :class:`UnsafeNameError` naming ``key``."""
    problem = name_problem(name, kind)
    if problem:
        raise UnsafeNameError(f"key '{key}': {problem}.")
    return name  # type: ignore[return-value]


def inside_output(path: str | os.PathLike, output_dir: str | os.PathLike) -> Path:
    """``path`` resolved; raise :class:`OutputEscapeError` unless it lies inside ``output_dir``.

    Both are resolved (``..`` and symbolic links followed), so neither a ``../`` in a name nor a
    link pointing elsewhere lets a write, or the atomic replace of an existing output, reach
    outside the output folder.
    """
    root = Path(output_dir).resolve()
    target = Path(path).resolve()
    if target == root or root not in target.parents:
        raise OutputEscapeError(
            f"output {os.fspath(path)!r} resolves to {target}, outside the output folder {root}; "
            "outputs are written only inside output_dir (check the dataset / model names and "
            "any symbolic link under output_dir)."
        )
    return target
