"""Shared fixtures: the repository root and the real data folder (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BRAINBRIDGE_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"real data folder {SHARED_DATA} absent (set BRAINBRIDGE_DATA to its path)")
    return SHARED_DATA


def pytest_collection_modifyitems(config, items) -> None:
    """Every test that reads the real data folder carries the ``realdata`` marker (so that
    ``-m "not realdata"`` leaves them all out)."""
    unmarked = [
        item.nodeid
        for item in items
        if "shared_data" in getattr(item, "fixturenames", ())
        and item.get_closest_marker("realdata") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            f"tests using the shared_data fixture lack @pytest.mark.realdata: {unmarked[:5]}"
        )
