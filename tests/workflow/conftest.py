"""Running Snakemake on the project's Snakefile from a working directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def snakemake_command(root: Path, workdir: Path, *args: str) -> list[str]:
    """The README's command (default profile, 2 cores) on the project's Snakefile in ``workdir``."""
    return [
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
    ]


def run_snakemake(
    root: Path, workdir: Path, *args: str, env: dict | None = None
) -> subprocess.CompletedProcess:
    """``snakemake`` with the default profile and 2 cores in ``workdir``; output captured."""
    return subprocess.run(
        snakemake_command(root, workdir, *args),
        capture_output=True,
        text=True,
        timeout=1800,
        env=env,
    )


@pytest.fixture(scope="session")
def snakemake(root: Path) -> Callable[..., subprocess.CompletedProcess]:
    """``snakemake(workdir, *args)``: the project's workflow run in ``workdir``."""
    return lambda workdir, *args, env=None: run_snakemake(root, workdir, *args, env=env)


def quick_workdir(root: Path, workdir: Path) -> Path:
    """``workdir`` with the quick config (`config/examples/simulation-quick.yaml`) as its config."""
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    shutil.copy(
        root / "config" / "examples" / "simulation-quick.yaml", workdir / "config" / "config.yaml"
    )
    return workdir


@pytest.fixture(scope="session")
def quick_run(root: Path, tmp_path_factory) -> Path:
    """The quick config run once, uninterrupted; its output folder (shared by the tests that
    check the results, the reproducibility and the resumption after kills)."""
    workdir = quick_workdir(root, tmp_path_factory.mktemp("quick"))
    result = run_snakemake(root, workdir)
    (workdir / "snakemake.log").write_text(result.stdout + result.stderr)  # the job log
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    return workdir / "results-quick"
