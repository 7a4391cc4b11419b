"""Replicate groups (subjects): leave-one-subject-out ceiling and bootstraps over subjects,
stimuli or both, against rsatoolbox on the same resamples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rsatoolbox
import xarray as xr

from brainbridge.align import RDMVectors, compute_rdms, get_metric, upper_triangle
from brainbridge.align.replicates import (
    noise_ceiling_leave_one_out,
    replicate_bootstrap,
    with_replicate_groups,
)
from brainbridge.steps.alignment import align
from brainbridge.store import open_store, write_store
from brainbridge.store.rdms import rdms_dataset

SPEARMAN = "rsa-rdm=correlation-compare=spearman"

SUBJECTS = np.array([1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
METHODS = [("spearman", "spearman"), ("pearson", "corr"), ("cosine", "cosine")]
N_BOOT = 25


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 12
    shared = rng.normal(size=(n, 8))
    subject = rng.normal(size=(5, n, 8))[SUBJECTS - 1]  # sessions of a subject share this
    patterns = shared + 0.8 * subject + 0.8 * rng.normal(size=(10, n, 8))
    vec = get_metric("rsa-rdm=correlation-compare=pearson").vectors
    return vec(patterns), vec(shared + rng.normal(size=(n, 8)))


def _rsatoolbox(brain, model):
    rdms = rsatoolbox.rdm.RDMs(brain, rdm_descriptors={"subject": SUBJECTS})
    return rdms, rsatoolbox.model.ModelFixed("m", rsatoolbox.rdm.RDMs(model[None]))


@pytest.mark.parametrize(("ours", "theirs"), METHODS)
def test_ceiling_leaves_one_subject_out_as_rsatoolbox(data, ours, theirs):
    brain, _ = data
    rdms, _ = _rsatoolbox(brain, data[1])
    metric = f"rsa-rdm=correlation-compare={ours}"
    got = noise_ceiling_leave_one_out(brain, metric, groups=SUBJECTS)
    lower, upper = rsatoolbox.inference.boot_noise_ceiling(rdms, theirs, "subject")
    assert got.lower == pytest.approx(lower, abs=1e-10)
    assert got.upper == pytest.approx(upper, abs=1e-10)
    per_session = noise_ceiling_leave_one_out(brain, metric)
    assert got.lower < per_session.lower  # sessions of one subject no longer predict each other


@pytest.mark.parametrize(("ours", "theirs"), METHODS)
@pytest.mark.parametrize("over", ["replicates", "stimuli", "both"])
def test_bootstraps_equal_rsatoolbox_on_the_same_resamples(data, ours, theirs, over):
    brain, model = data
    rdms, fixed = _rsatoolbox(brain, model)
    evaluate = {
        "replicates": rsatoolbox.inference.eval_bootstrap_rdm,
        "stimuli": rsatoolbox.inference.eval_bootstrap_pattern,
        "both": rsatoolbox.inference.eval_bootstrap,
    }[over]
    kwargs = {"rdm_descriptor": "subject"}
    np.random.seed(7)  # noqa: NPY002 (rsatoolbox draws from the legacy global state)
    theirs_eval = evaluate(fixed, rdms, method=theirs, N=N_BOOT, **kwargs).evaluations[:, 0]
    np.random.seed(7)  # noqa: NPY002 - the same draws, in rsatoolbox's order (subjects, then stimuli)
    group_idx, stim_idx = [], []
    for _ in range(N_BOOT):
        if over != "stimuli":
            group_idx.append(np.random.randint(0, 5, size=5))  # noqa: NPY002
        if over != "replicates":
            stim_idx.append(np.random.randint(0, 12, size=12))  # noqa: NPY002
    got = replicate_bootstrap(
        f"rsa-rdm=correlation-compare={ours}",
        RDMVectors(brain),
        RDMVectors(model),
        over=over,
        groups=SUBJECTS,
        n_bootstrap=N_BOOT,
        stimulus_idx=np.array(stim_idx) if stim_idx else None,
        group_idx=np.array(group_idx) if group_idx else None,
    )
    np.testing.assert_allclose(got, theirs_eval, atol=1e-10)


# ---------------------------------------------------------------- through the align step


@pytest.fixture
def grouped(tmp_path):
    """Brain RDMs of 6 subjects x 2 sessions: region `match` follows layer `deep`."""
    rng = np.random.default_rng(5)
    n = 16
    ids = [f"s{i:02d}" for i in range(n)]
    deep, shallow = rng.normal(size=(n, 30)), rng.normal(size=(n, 20))
    subject = rng.normal(size=(6, n, 30))
    patterns = deep + subject.repeat(2, axis=0) + 1.5 * rng.normal(size=(12, n, 30))
    rdms = compute_rdms(np.stack([patterns, rng.normal(size=(12, n, 30))]), "correlation")
    brain = rdms_dataset(
        rdms,
        regions=["match", "noise"],
        replicates=[f"r{i}" for i in range(12)],
        stimuli=ids,
        dissimilarity="x",
    )
    labels = {"subject": [f"sub{i // 2}" for i in range(12)], "session": [1, 2] * 6}
    write_store(with_replicate_groups(brain, labels, "test"), tmp_path / "b.zarr", kind="rdms")
    acts = xr.Dataset(
        {
            "shallow": (("stimulus", "feature:shallow"), shallow.astype(np.float32)),
            "deep": (("stimulus", "feature:deep"), deep.astype(np.float32)),
        },
        coords={"stimulus": ids},
        attrs={"model": "net"},
    )
    write_store(acts, tmp_path / "net.zarr", kind="activations")
    return tmp_path, upper_triangle(rdms[0]), np.array(labels["subject"])


def test_align_step_with_subjects(grouped):
    root, match, subjects = grouped
    inputs = {"brain": str(root / "b.zarr"), "activations": str(root / "net.zarr")}
    outputs = {"store": root / "al.zarr", "table": root / "al.tsv"}
    cfg = {"metrics": [SPEARMAN], "n_permutations": 100, "n_bootstrap": 50, "ci": 0.95}
    params = {"dataset": "g", "model": "net", "seed": 0, "layers": ["shallow", "deep"]}
    align(inputs, outputs, {**params, "alignment": {**cfg, "bootstrap": "both", "n_flips": 1000}})
    ds = open_store(outputs["store"], "alignment", load=True)
    at = {"metric": SPEARMAN, "region": "match"}
    assert float(ds["noise_ceiling_lower"].sel(at)) == pytest.approx(
        noise_ceiling_leave_one_out(match, SPEARMAN, groups=subjects).lower
    )
    assert ds.attrs["n_subjects"] == 6 and ds.attrs["bootstrap"] == "both"
    p = ds["group_p_signflip"].sel(at)
    assert float(p.sel(layer="deep")) == pytest.approx(1 / 64)  # exact: all 6 subjects > 0
    assert float(ds["group_p_ttest"].sel(at).sel(layer="deep")) < 0.01
    assert float(ds["group_p_signflip"].sel(metric=SPEARMAN, region="noise", layer="deep")) > 0.05
    table = pd.read_csv(outputs["table"], sep="\t")
    assert table["n_subjects"].eq(6).all() and table["group_p_fdr"].notna().all()
    deep = table.set_index(["region", "layer"]).loc[("match", "deep")]
    assert deep["ci_low"] < deep["score"] < deep["ci_high"]


def test_replicate_labels_are_checked():
    brain = rdms_dataset(
        np.stack([compute_rdms(np.random.default_rng(0).normal(size=(3, 5, 4)))]),
        regions=["r"],
        replicates=["a", "b", "c"],
        stimuli=list("vwxyz"),
    )
    with pytest.raises(ValueError, match=r"datasets.x: replicates.subject has 2 entries.*3"):
        with_replicate_groups(brain, {"subject": [1, 2]}, "datasets.x")
    with pytest.raises(ValueError, match=r"replicates.run is not a replicate label"):
        with_replicate_groups(brain, {"run": [1, 2, 3]}, "datasets.x")
