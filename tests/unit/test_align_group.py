"""Group-level tests over subjects: t-test, sign flips, FDR and cluster correction."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from brainbridge.align.group import fdr_bh, group_tests, sign_flips


def test_t_test_and_exact_sign_flips():
    rng = np.random.default_rng(0)
    effects = rng.normal(0.3, 1.0, size=(8, 3, 20))
    res = group_tests(effects)
    expected = stats.ttest_1samp(effects, 0.0, axis=0, alternative="greater")
    np.testing.assert_allclose(res.t, expected.statistic, rtol=1e-10)
    np.testing.assert_allclose(res.p_ttest, expected.pvalue, rtol=1e-10)
    assert res.n_flips == 2**8 and len(np.unique(sign_flips(8), axis=0)) == 2**8
    positive = np.abs(effects)  # every subject above 0: only the identity reaches it
    assert group_tests(positive).p_signflip.max() == pytest.approx(1 / 2**8)


def test_fdr_matches_scipy():
    p = np.random.default_rng(1).uniform(size=(4, 30)) ** 2
    np.testing.assert_allclose(fdr_bh(p), stats.false_discovery_control(p.ravel()).reshape(p.shape))


def test_sign_flip_p_uniform_under_the_null():
    rng = np.random.default_rng(2)
    res = group_tests(rng.normal(size=(12, 2000)), n_flips=1000, seed=3)
    assert res.n_flips == 1001  # 2^12 > 1000: identity + 1000 random flips
    assert 0.03 < np.mean(res.p_signflip < 0.05) < 0.07
    assert 0.45 < np.mean(res.p_signflip) < 0.55


def test_cluster_correction_finds_the_planted_window_and_controls_fwer():
    rng = np.random.default_rng(4)
    effects = rng.normal(size=(10, 2, 40))
    effects[:, :, 15:25] += 1.5  # an effect in both layers, 10 time points
    res = group_tests(effects, n_flips=500, seed=0)
    assert np.all(res.p_cluster[:, 15:25] < 0.01)
    assert np.all(res.p_cluster[:, :10] > 0.05)
    # family-wise error over the grid under the null
    hits = [
        (group_tests(rng.normal(size=(10, 2, 40)), n_flips=100, seed=s).p_cluster < 0.05).any()
        for s in range(40)
    ]
    assert np.mean(hits) <= 0.125


def _store(rng, effect: float, name: str):
    import xarray as xr

    shape = (1, 1, 2, 30)  # metric, region, layer, time
    score = rng.normal(0, 0.05, size=shape)
    score[..., 10:20] += effect
    return xr.Dataset(
        {
            "score": (("metric", "region", "layer", "time"), score),
            "null_mean": (("metric", "region", "layer", "time"), np.full(shape, 0.01)),
        },
        coords={
            "metric": ["m"],
            "region": ["scalp"],
            "layer": ["a", "b"],
            "time": np.arange(30) / 100,
        },
        attrs={"dataset": name, "modality": "eeg"},
    )


def test_align_group_step(tmp_path):
    import pandas as pd

    from brainbridge.steps.alignment import align_group
    from brainbridge.store import open_store, write_store

    rng = np.random.default_rng(5)
    paths = []
    for i in range(8):
        path = tmp_path / f"s{i}.zarr"
        write_store(_store(rng, 0.2, f"s{i}"), path, kind="alignment")
        paths.append(str(path))
    outputs = {"store": tmp_path / "g.zarr", "table": tmp_path / "g.tsv"}
    params = {
        "group": "all",
        "datasets": [f"s{i}" for i in range(8)],
        "model": "net",
        "alignment": {"ci": 0.95, "n_flips": 10000},
        "seed": 0,
    }
    align_group({"alignment": paths}, outputs, params)
    ds = open_store(outputs["store"], "alignment", load=True)
    p = ds["group_p_cluster"].sel(metric="m", region="scalp").values
    assert np.all(p[:, 10:20] < 0.05) and np.all(p[:, :8] > 0.05)
    assert float(ds["group_p_signflip"].isel(time=15).min()) == pytest.approx(1 / 256)
    table = pd.read_csv(outputs["table"], sep="\t")
    assert set(table["dataset"]) == {"all"} and table["n_subjects"].eq(8).all()
    assert len(table) == 2 * 30
    bad = _store(rng, 0.2, "x").assign_coords(layer=["a", "c"])
    write_store(bad, tmp_path / "bad.zarr", kind="alignment")
    with pytest.raises(ValueError, match=r"dataset 'bad' differs from 's0' in 'layer'"):
        align_group(
            {"alignment": [paths[0], str(tmp_path / "bad.zarr")]},
            {"store": tmp_path / "h.zarr", "table": tmp_path / "h.tsv"},
            {**params, "datasets": ["s0", "bad"]},
        )
    assert not (tmp_path / "h.zarr").exists()
