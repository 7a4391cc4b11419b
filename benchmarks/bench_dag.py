"""DAG build time of a large study: 200 subjects x 5 models x 10 layers.

Generates a config of ``--subjects`` M/EEG datasets (raw files, one per subject), ``--models``
models of ``--layers`` layers each (every file an empty placeholder: a dry run reads none), then
times ``snakemake -n`` (the whole DAG: 200 ingest + 5 extract + 2 x 1000 encode/align jobs) and
``snakemake -n --profile workflow/profiles/slurm`` (the same DAG packed into group jobs, the
number of SLURM submissions counted). Run: ``python benchmarks/bench_dag.py`` (a minute or two).
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def study(folder: Path, subjects: int, models: int, layers: int) -> dict:
    """The generated config; its placeholder files are written under ``folder``."""
    data = folder / "data"
    data.mkdir()
    (data / "manifest.tsv").write_text("stimulus\tpath\n")
    datasets = {}
    for s in range(1, subjects + 1):
        edf = data / f"sub-{s:03d}.edf"
        edf.touch()
        datasets[f"sub-{s:03d}"] = {
            "modality": "eeg",
            "source": "raw",
            "files": [str(edf)],
            "events": {"mapping": {"T1": {"stimulus": "a", "condition": "a"}}},
            "preprocessing": {"l_freq": 1.0, "h_freq": 40.0, "tmin": -0.2, "tmax": 0.8},
        }
    nets = {}
    for m in range(1, models + 1):
        weights = data / f"model{m}.th"
        weights.touch()
        nets[f"model{m}"] = {
            "source": "cifar-resnet",
            "arch": "resnet20",
            "checkpoint": str(weights),
            "stimuli": str(data / "manifest.tsv"),
            "layers": [f"layer{i}" for i in range(1, layers + 1)],
        }
    return {
        "output_dir": "results",
        "models": nets,
        "datasets": datasets,
        "encoding": {"alphas": [1.0, 10.0, 100.0]},
        "alignment": {"metrics": ["rsa-rdm=correlation-compare=spearman"]},
    }


def dry_run(workdir: Path, *args: str) -> tuple[float, float, str]:
    """Wall and CPU seconds of ``snakemake -n`` (CPU: on a shared machine, wall time waits)."""
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    result = subprocess.run(
        [
            SNAKEMAKE,
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--directory",
            str(workdir),
            "-n",
            *args,
        ],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
    if result.returncode:
        raise SystemExit(result.stdout[-3000:] + result.stderr[-3000:])
    return seconds, cpu, result.stdout + result.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=200)
    parser.add_argument("--models", type=int, default=5)
    parser.add_argument("--layers", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = study(workdir, args.subjects, args.models, args.layers)
        (workdir / "config").mkdir()
        (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
        seconds, cpu, out = dry_run(workdir, "--cores", "2", "--quiet", "rules")
        total = re.search(r"^total\s+(\d+)", out, re.M)
        print(
            f"{args.subjects} subjects x {args.models} models x {args.layers} layers: "
            f"{total.group(1) if total else '?'} jobs; snakemake -n: {seconds:.1f} s "
            f"({cpu:.1f} s CPU)"
        )
        profile = str(ROOT / "workflow" / "profiles" / "slurm")
        seconds, cpu, out = dry_run(workdir, "--profile", profile)
        groups = len(re.findall(r"Group job \S+ \(jobs in lexicogr\. order\):", out))
        print(
            f"slurm profile: snakemake -n: {seconds:.1f} s ({cpu:.1f} s CPU); "
            f"{groups} group jobs (SLURM submissions of grouped rules)"
        )


if __name__ == "__main__":
    main()
