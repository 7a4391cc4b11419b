"""Replicate groups (subjects): leave-one-subject-out ceiling and bootstraps over subjects,
stimuli or both, against rsatoolbox on the same resamples."""

from __future__ import annotations

import numpy as np
import pytest
import rsatoolbox

from brainbridge.align import RDMVectors, get_metric
from brainbridge.align.replicates import noise_ceiling_leave_one_out, replicate_bootstrap

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
