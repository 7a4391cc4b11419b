"""The version of the code a workflow step runs: a hash of the brainbridge modules it imports.

Found by reading source, not by importing it (milliseconds for the whole package, so the
workflow computes it when it builds its DAG): the step's module and the functions of it that the
step calls, then every ``brainbridge`` module these import, transitively, with the ``__init__``
of each package on the way. A lazy package (:mod:`brainbridge.lazy`) contributes only the
modules of the names imported from it. The hash covers the bytes of these files, so any edit
(comments too) reruns exactly the steps that import the edited module; third-party libraries
are not covered (their versions belong to the environment).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
from pathlib import Path

from brainbridge.steps import STEPS, step_module

PACKAGE = "brainbridge"
PACKAGE_ROOT = Path(__file__).resolve().parent
# The step registry: adding a step must not rerun the others.
NOT_HASHED = frozenset({"brainbridge.steps"})


@functools.cache
def module_file(module: str) -> Path | None:
    """The source file of a ``brainbridge`` module or package; None if it is not one."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_ROOT.joinpath(*parts[1:])
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


@functools.cache
def _tree(module: str) -> ast.Module:
    path = module_file(module)
    return ast.parse(path.read_bytes(), filename=str(path))


@functools.cache
def _lazy_names(package: str) -> dict[str, str]:
    """A lazy package's ``LAZY`` map (its ``__init__`` imports nothing heavy); else {}."""
    path = module_file(package)
    if path is None or path.name != "__init__.py" or b"lazy_attributes" not in path.read_bytes():
        return {}
    return dict(getattr(importlib.import_module(package), "LAZY", {}))


def _with_parents(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def _imported(module: str, nodes: list[ast.AST]) -> set[str]:
    """The brainbridge modules imported by the import statements under ``nodes``."""
    found: set[str] = set()
    is_package = module_file(module).name == "__init__.py"
    for node in (n for top in nodes for n in ast.walk(top)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if module_file(a.name)}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")[: len(module.split(".")) - node.level + is_package]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if not module_file(base):
                continue
            found.add(base)
            lazy = _lazy_names(base)
            for alias in node.names:
                if module_file(f"{base}.{alias.name}"):
                    found.add(f"{base}.{alias.name}")
                elif alias.name in lazy:
                    found.add(lazy[alias.name])
    return {p for m in found for p in _with_parents(m) if module_file(p)}


@functools.cache
def _module_imports(module: str) -> frozenset[str]:
    return frozenset(_imported(module, [_tree(module)]))


@functools.cache
def dependencies(module: str) -> frozenset[str]:
    """``module`` and every brainbridge module it imports, transitively."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(_module_imports(current) - seen)
    return frozenset(seen)


def _step_nodes(module: str, function: str) -> list[ast.AST]:
    """The module's top-level statements but its functions and classes, plus ``function`` and
    the module-level functions it calls (transitively)."""
    tree = _tree(module)
    defs = {
        n.name: n
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    nodes = [n for n in tree.body if not (hasattr(n, "name") and n.name in defs)]
    used, todo = set(), [function]
    while todo:
        name = todo.pop()
        if name in used or name not in defs:
            continue
        used.add(name)
        nodes.append(defs[name])
        todo.extend(n.id for n in ast.walk(defs[name]) if isinstance(n, ast.Name))
    return nodes


@functools.cache
def step_dependencies(step: str) -> frozenset[str]:
    """The brainbridge modules that step ``step`` imports (its own module included)."""
    module = step_module(step)
    target = STEPS[step]
    function = target.partition(":")[2] if isinstance(target, str) else target.__name__
    direct = _imported(module, _step_nodes(module, function)) | _with_parents(module)
    found: set[str] = set()
    for dep in direct:
        if module_file(dep):
            found |= {dep} if dep == module else dependencies(dep)
    return frozenset(found | {module})


@functools.cache
def code_version(step: str) -> str:
    """A short hash of the source of every module that step ``step`` imports."""
    digest = hashlib.sha256()
    for module in sorted(step_dependencies(step) - NOT_HASHED):
        digest.update(module.encode() + b"\0" + module_file(module).read_bytes() + b"\0")
    return digest.hexdigest()[:16]
