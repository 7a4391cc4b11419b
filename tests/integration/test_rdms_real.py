"""Real brain RDMs: human IT of Kriegeskorte et al. (2008) (4 subjects x 2 sessions, 92 images)
and the Algonauts 2019 EVC / IT RDMs (15 subjects, 78 images), into rdms stores; hIT against
the layers of the trained CIFAR ResNet-20 on the same 92 images."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brainbridge.extract.models import load
from brainbridge.extract.run import Inputs, extract_to_store
from brainbridge.extract.stimuli import read_manifest
from brainbridge.ingest.fmri.rdms import check_rdms
from brainbridge.steps.alignment import align
from brainbridge.steps.brain_rdms import ingest_rdm
from brainbridge.store import open_store

pytestmark = pytest.mark.realdata

SPEARMAN = "rsa-rdm=correlation-compare=spearman"
CIFAR = Inputs(image={"size": 32, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]})


@pytest.fixture(scope="module")
def hit(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("hit") / "hIT.zarr"
    ingest_rdm(
        {
            "rdms": [str(shared_data / "rsa92" / "92_brainRDMs.mat")],
            "stimuli": str(shared_data / "rsa92" / "stimuli.tsv"),
        },
        {"store": out},
        {"name": "hIT", "modality": "fmri", "rdms": [{"region": "hIT", "variable": "RDMs"}]},
    )
    return out


def test_hit_mat_into_rdms_store(hit, shared_data):
    ds = open_store(hit, "rdms", load=True, values=True)
    check_rdms(ds, str(hit))
    assert ds.sizes == {"region": 1, "replicate": 8, "stimulus": 92, "stimulus2": 92}
    assert ds["replicate"].values[1] == "hIT | BE | Session: 2"
    manifest = pd.read_csv(shared_data / "rsa92" / "stimuli.tsv", sep="\t")
    assert ds["stimulus"].values.tolist() == manifest["stimulus"].tolist()
    assert ds["stimulus"].values[0] == "stim01" and ds["stimulus"].values[-1] == "stim92"


def test_algonauts_npz_into_rdms_store(shared_data, tmp_path):
    root = shared_data / "algonauts78"
    out = tmp_path / "algonauts78.zarr"
    ingest_rdm(
        {
            "rdms": [str(root / "fmri_EVC_RDMs.npz"), str(root / "fmri_IT_RDMs.npz")],
            "stimuli": str(root / "images"),
        },
        {"store": out},
        {
            "name": "algonauts78",
            "modality": "fmri",
            "rdms": [{"region": "EVC", "variable": "arr_0"}, {"region": "IT"}],
        },
    )
    ds = open_store(out, "rdms", load=True, values=True)
    check_rdms(ds, str(out))
    assert ds.sizes == {"region": 2, "replicate": 15, "stimulus": 78, "stimulus2": 78}
    assert ds["stimulus"].values[0] == "image_01" and ds["stimulus"].values[-1] == "image_78"
    with np.load(root / "fmri_IT_RDMs.npz") as raw:
        np.testing.assert_allclose(ds["rdm"].sel(region="IT").values, raw["arr_0"])


def test_hit_vs_resnet20_layers(hit, shared_data, tmp_path):
    manifest = read_manifest(shared_data / "rsa92" / "stimuli.tsv")
    loaded = load("cifar-resnet", shared_data / "weights" / "resnet20-12fca82f.th", arch="resnet20")
    layers = ["layer1", "layer2", "layer3", "linear"]
    acts = tmp_path / "resnet20.zarr"
    extract_to_store(loaded, manifest, acts, layers=layers, inputs=CIFAR, batch_size=32)
    params = {
        "dataset": "hIT",
        "model": "resnet20",
        "layers": layers,
        "alignment": {"metrics": [SPEARMAN], "n_permutations": 200, "n_bootstrap": 100, "ci": 0.95},
        "seed": 0,
    }
    outputs = {"store": tmp_path / "al.zarr", "table": tmp_path / "al.tsv"}
    align({"brain": str(hit), "activations": str(acts)}, outputs, params)
    table = pd.read_csv(outputs["table"], sep="\t").set_index("layer")
    print("\nhIT vs resnet20:\n" + table[["score", "p_value", "ci_low", "ci_high"]].to_string())
    low, high = table[["noise_ceiling_lower", "noise_ceiling_upper"]].iloc[0]
    print(f"noise ceiling {low:.3f}-{high:.3f}")
    assert 0.25 < low < high < 0.7  # 8 hIT RDMs: leave-one-out 0.33, all 0.52
    best = table["score"].idxmax()
    assert table.loc[best, "score"] > 0.05 and table.loc[best, "p_value"] < 0.01
    assert table.loc[best, "ci_low"] > 0
    assert (table["score"] < high).all()


def test_haxby_category_rdms_per_run_and_decoding(shared_data, tmp_path):
    from brainbridge.steps.brain_rdms import brain_rdms, decode
    from brainbridge.steps.ingestion import ingest_fmri

    root = shared_data / "fmri" / "haxby2001" / "sub001"
    runs = [root / f"run{r:02d}" for r in range(1, 13)]
    brain = tmp_path / "haxby.zarr"
    ingest_fmri(
        {
            "bold": [r / "bold_1slice.nii.gz" for r in runs],
            "events": [r / "bold_events.tsv" for r in runs],
        },
        {"store": brain},
        {"name": "haxby-sub001", "tr": 2.5, "glm": {"estimator": "lsa", "high_pass": 0.008}},
    )
    params = {"name": "haxby-sub001", "rdm": {"by": "condition"}, "seed": 0}
    brain_rdms({"brain": str(brain)}, {"store": tmp_path / "haxby.rdms.zarr"}, params)
    ds = open_store(tmp_path / "haxby.rdms.zarr", "rdms", load=True, values=True)
    check_rdms(ds)
    assert ds.sizes["replicate"] == 12 and ds.sizes["stimulus"] == 8
    assert ds["replicate"].values.tolist() == [str(r) for r in range(1, 13)]
    from brainbridge.align import RDMVectors
    from brainbridge.align.replicates import noise_ceiling_leave_one_out

    region = str(ds["region"].values[0])
    nc = noise_ceiling_leave_one_out(
        RDMVectors.from_square(ds["rdm"].sel(region=region).values), SPEARMAN
    )
    print(f"\nhaxby category RDMs, 12 runs, region {region}: noise ceiling {nc}")
    assert 0.05 < nc.lower < nc.upper  # category structure replicates across runs (0.14)
    table = tmp_path / "decoding.tsv"
    decode({"brain": str(brain)}, {"table": table}, {**params, "decode": {"n_permutations": 50}})
    row = pd.read_csv(table, sep="\t").iloc[0]
    print(row.to_dict())
    assert row["n_folds"] == 12 and row["accuracy"] > row["chance"] + 0.1
    assert row["p_value"] < 0.05


def test_hit_subjects_leave_one_subject_out(shared_data, tmp_path):
    """4 subjects x 2 sessions declared: the ceiling leaves a subject out (rsatoolbox 0.306)."""
    from brainbridge.align import RDMVectors
    from brainbridge.align.replicates import noise_ceiling_leave_one_out

    out = tmp_path / "hIT.zarr"
    ingest_rdm(
        {
            "rdms": [str(shared_data / "rsa92" / "92_brainRDMs.mat")],
            "stimuli": str(shared_data / "rsa92" / "stimuli.tsv"),
        },
        {"store": out},
        {
            "name": "hIT",
            "modality": "fmri",
            "rdms": [{"region": "hIT", "variable": "RDMs"}],
            "replicates": {"subject": ["BE", "BE", "KO", "KO", "SN", "SN", "TI", "TI"]},
        },
    )
    ds = open_store(out, "rdms", load=True, values=True)
    assert ds["subject"].values.tolist()[:3] == ["BE", "BE", "KO"]
    rdms = RDMVectors.from_square(ds["rdm"].sel(region="hIT").values)
    nc = noise_ceiling_leave_one_out(rdms, SPEARMAN, groups=ds["subject"].values)
    assert nc.lower == pytest.approx(0.3063, abs=5e-4)  # leave-one-session-out: 0.328
    assert nc.upper == pytest.approx(0.5250, abs=5e-4)
