"""Running Snakemake on the project's Snakefile from a working directory."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def run_snakemake(
    root: Path, workdir: Path, *args: str, env: dict | None = None
) -> subprocess.CompletedProcess:
    """``snakemake`` with the default profile and 2 cores in ``workdir``; output captured."""
    return subprocess.run(
        [
            SNAKEMAKE,
            "--snakefile",
            str(root / "Snakefile"),
            "--directory",
            str(workdir),
            "--cores",
            "2",
            "--profile",
            str(root / "workflow" / "profiles" / "default"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        env=env,
    )


@pytest.fixture(scope="session")
def snakemake(root: Path) -> Callable[..., subprocess.CompletedProcess]:
    """``snakemake(workdir, *args)``: the project's workflow run in ``workdir``."""
    return lambda workdir, *args, env=None: run_snakemake(root, workdir, *args, env=env)
