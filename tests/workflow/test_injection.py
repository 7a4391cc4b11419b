"""Hostile names and paths through Snakemake: nothing runs, nothing escapes the output folder.

Names (datasets, models) are refused before the DAG is built, each with its key; paths, which
may hold any character, reach the shell quoted: a real run with an ``output_dir`` full of shell
syntax writes its output at the literal path and runs none of the embedded commands.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.workflow

NAMES = ["a;touch pwned1", "my data", "a<b", "a__b", "f(x)", "../../escaped", "x`touch pwned2`"]


def _workdir(root: Path, tmp: Path, config: dict) -> Path:
    (tmp / "config").mkdir(parents=True)
    (tmp / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    return tmp


def _left_behind(workdir: Path) -> list[str]:
    """Files an injected command or an escaped write would leave (anywhere near workdir)."""
    near = [workdir, workdir.parent, workdir.parent.parent]
    return [str(p) for d in near for p in d.glob("*") if p.name.startswith(("pwned", "escaped"))]


def test_hostile_names_stop_the_dry_run_with_their_keys(root, tmp_path, snakemake):
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    eeg, net = config["datasets"]["sim-eeg"], config["models"]["simnet"]
    for name in NAMES:
        config["datasets"][name] = copy.deepcopy(eeg)
        config["models"][name] = copy.deepcopy(net)
    workdir = _workdir(root, tmp_path / "w", config)
    result = snakemake(workdir, "-n")
    assert result.returncode != 0
    out = result.stdout + result.stderr
    for name in NAMES:
        for section in ("datasets", "models"):
            assert f"key '{section}.{name}': name {name!r} is not allowed" in out, out[-3000:]
    assert not _left_behind(workdir) and not (workdir / "results").exists()


def test_shell_syntax_in_a_path_is_data(root, tmp_path, snakemake):
    """End to end: every command of this output_dir would create a file if it ever ran."""
    out = "r x`touch pwned1`;touch pwned2 $(touch pwned3) |touch pwned4 <in"
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    workdir = _workdir(root, tmp_path / "w", {**config, "output_dir": out})
    manifest = f"{out}/simulation/stimuli/manifest.tsv"
    result = snakemake(workdir, manifest)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (workdir / manifest).stat().st_size > 0
    assert (workdir / out / "logs" / "simulate_stimuli.log").exists()
    assert not _left_behind(workdir), _left_behind(workdir)
    assert sorted(p.name for p in workdir.iterdir()) == [".snakemake", "config", out]
    shutil.rmtree(workdir / out)
