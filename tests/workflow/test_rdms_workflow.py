"""Snakemake run of a brain-RDM dataset: RDM files -> rdms store -> RSA with a tiny network ->
report, with no encoding (RDMs have no responses to encode) and CKA skipped."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image

from brainbridge.align import compute_rdms

pytestmark = pytest.mark.workflow


@pytest.fixture()
def workdir(root, tmp_path, monkeypatch):
    sys.path.insert(0, str(root / "tests" / "unit"))
    from extract_fixtures import TinyNet

    sys.path.pop(0)
    monkeypatch.setenv("PYTHONPATH", str(root / "tests" / "unit"))  # for extract_fixtures
    rng = np.random.default_rng(0)
    images = tmp_path / "images"
    images.mkdir()
    for i in range(10):
        pixels = rng.integers(0, 255, size=(16, 16, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(images / f"img{i:02d}.png")
    torch.manual_seed(0)
    torch.save(TinyNet().state_dict(), tmp_path / "tiny.pt")
    rdms = compute_rdms(rng.normal(size=(3, 10, 4)), "euclidean")
    np.savez(tmp_path / "v1.npz", arr_0=rdms)
    config = {
        "output_dir": "out",
        "seed": 0,
        "models": {
            "tiny": {
                "source": "module",
                "class": "extract_fixtures:TinyNet",
                "checkpoint": str(tmp_path / "tiny.pt"),
                "stimuli": str(images),
                "layers": ["conv*"],
                "image": {"size": 16, "mean": [0.5] * 3, "std": [0.25] * 3},
            }
        },
        "datasets": {
            "toy": {
                "modality": "fmri",
                "source": "rdm",
                "rdms": [{"region": "V1", "file": str(tmp_path / "v1.npz")}],
                "stimuli": str(images),
            }
        },
        "alignment": {
            "metrics": ["rsa-rdm=correlation-compare=spearman", "cka-kernel=linear-hsic=unbiased"],
            "n_permutations": 20,
            "n_bootstrap": 10,
        },
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def test_rdm_dataset_runs_through_the_workflow(root, workdir, snakemake):
    result = snakemake(workdir, "--configfile", str(workdir / "config.yaml"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    out = workdir / "out"
    log = result.stdout + result.stderr
    assert "rule ingest_rdm" in log and "rule encode" not in log
    assert not (out / "tables" / "encoding.tsv").exists()
    table = pd.read_csv(out / "tables" / "alignment.tsv", sep="\t")
    assert set(table["metric"]) == {"rsa-rdm=correlation-compare=spearman"}  # CKA skipped
    assert table["layer"].tolist() == ["conv1", "conv2"] and set(table["region"]) == {"V1"}
    assert table["noise_ceiling_upper"].notna().all()
    html = (out / "report.html").read_text()
    assert "toy · tiny" in html


def test_subjects_and_a_group_of_datasets(root, workdir, snakemake, monkeypatch):
    """Replicates declared by subject, and two datasets of one design declared a group."""
    monkeypatch.setenv("PYTHONPATH", f"{root / 'src'}:{root / 'tests' / 'unit'}")  # this tree
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    rdms = compute_rdms(np.random.default_rng(1).normal(size=(3, 10, 4)), "euclidean")
    np.savez(workdir / "v1b.npz", arr_0=rdms)
    toy = config["datasets"]["toy"]
    toy["replicates"] = {"subject": ["s1", "s1", "s2"], "session": [1, 2, 1]}
    config["datasets"]["toy2"] = {
        **toy,
        "rdms": [{"region": "V1", "file": str(workdir / "v1b.npz")}],
    }
    config["alignment"]["groups"] = {"pair": ["toy", "toy2"]}
    (workdir / "groups.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(workdir, "--configfile", str(workdir / "groups.yaml"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    table = pd.read_csv(workdir / "out" / "tables" / "alignment.tsv", sep="\t")
    assert set(table["dataset"]) == {"toy", "toy2", "pair"}
    group = table[table["dataset"] == "pair"]
    assert len(group) == 2 and group["n_subjects"].eq(2).all()
    assert group["group_p_signflip"].between(0, 1).all()
    single = table[table["dataset"] == "toy"]
    assert single["n_subjects"].eq(2).all() and single["group_t"].notna().all()
    # the report's group-level section: the group of datasets and the subjects of one dataset
    html = (workdir / "out" / "report.html").read_text()
    section = html.split("<h2>Group-level alignment</h2>", 1)[1].split("</section>", 1)[0]
    assert "pair · tiny" in section and "2 datasets of one design" in section
    assert "the 2 subjects of toy" in section and "all 2<sup>2</sup> sign flips" in section
