"""Package attributes imported on first use (PEP 562), so that importing one submodule of a
package does not import all of its siblings (and their heavy dependencies).

A package ``__init__`` declares ``LAZY = {"name": "brainbridge.pkg.module", ...}`` and
``__getattr__, __dir__ = lazy_attributes(__name__, LAZY)``; ``from brainbridge.pkg import name``
then imports ``brainbridge.pkg.module`` only. :mod:`brainbridge.code_version` reads ``LAZY`` too.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_attributes(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` exporting ``exports`` (name -> module)."""

    def __getattr__(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*exports, *vars(sys.modules[package])})

    return __getattr__, __dir__
