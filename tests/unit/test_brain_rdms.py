"""Brain RDMs: the `rdms` store kind, RDM file readers, category RDMs of responses, the
leave-one-out noise ceiling, alignment of brain RDMs with layers, decoding and config keys."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.io import savemat

from brainbridge.align import RDMVectors, compute_rdms, get_metric, upper_triangle
from brainbridge.align.categories import category_rdm, category_rdms
from brainbridge.align.replicates import (
    ReplicateMean,
    noise_ceiling_leave_one_out,
    pool_rdm_vectors,
)
from brainbridge.config import ConfigError, check_config, load_config
from brainbridge.ingest.fmri.rdms import (
    check_rdms,
    rdms_dataset,
    read_rdm_file,
    read_rdms,
    write_rdm_npz,
)
from brainbridge.steps.alignment import align
from brainbridge.steps.brain_rdms import brain_rdms, decode, ingest_rdm
from brainbridge.store import open_store, write_store
from brainbridge.store.contract import StoreError

SPEARMAN = "rsa-rdm=correlation-compare=spearman"
PEARSON = "rsa-rdm=correlation-compare=pearson"
CKA = "cka-kernel=linear-hsic=unbiased"
ROOT = Path(__file__).resolve().parents[2]


def _random_rdms(rng, shape, n):
    x = rng.normal(size=(*shape, n, 5))
    return compute_rdms(x, "euclidean")


def _ids(n):
    return [f"s{i:02d}" for i in range(n)]


def _ds(rdms, n=None):
    n = rdms.shape[-1]
    return rdms_dataset(
        rdms,
        regions=[f"r{i}" for i in range(rdms.shape[0])],
        replicates=[f"sub-{i}" for i in range(rdms.shape[1])],
        stimuli=_ids(n),
    )


# ---------------------------------------------------------------- the store kind


def test_rdms_store_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    ds = _ds(_random_rdms(rng, (2, 3), 6))
    write_store(ds, tmp_path / "b.zarr", kind="rdms")
    back = open_store(tmp_path / "b.zarr", "rdms", load=True, values=True)
    check_rdms(back)
    np.testing.assert_allclose(back["rdm"].values, ds["rdm"].values)
    assert back.attrs["dissimilarity"] == "unknown (precomputed)"
    assert back["stimulus"].values.tolist() == _ids(6)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ("asymmetric", r"'rdm' in here is not symmetric \(region 'r1', replicate 'sub-2'"),
        ("diagonal", r"non-zero diagonal \(region 'r0', replicate 'sub-0'.*distance 0"),
        ("nan", r"'rdm' in here holds 2 NaN/inf values"),
        ("columns", r"'stimulus2' must list the ids of 'stimulus'"),
        ("duplicate", r"coord 'stimulus' in here must be unique"),
        ("dissimilarity", r"attr 'dissimilarity' missing in here"),
        ("dims", r"variable 'rdm' in here has dim 'trial' at position 1"),
        ("small", r"2 stimuli; RSA needs >= 3"),
    ],
)
def test_rdms_kind_refuses_bad_rdms(change, match):
    rng = np.random.default_rng(1)
    ds = _ds(_random_rdms(rng, (2, 3), 5))
    rdm = ds["rdm"].values.copy()
    if change == "asymmetric":
        rdm[1, 2, 0, 3] += 0.5
        ds["rdm"].values = rdm
    elif change == "diagonal":
        rdm[0, 0, 1, 1] = 0.1
        ds["rdm"].values = rdm
    elif change == "nan":
        rdm[0, 1, 2, 3] = rdm[0, 1, 3, 2] = np.nan
        ds["rdm"].values = rdm
    elif change == "columns":
        ds = ds.assign_coords(stimulus2=ds["stimulus2"].values[::-1])
    elif change == "duplicate":
        ds = ds.assign_coords(stimulus=["a", "a", "b", "c", "d"])
    elif change == "dissimilarity":
        del ds.attrs["dissimilarity"]
    elif change == "dims":
        ds = ds.rename({"replicate": "trial"})
    elif change == "small":
        ds = ds.isel(stimulus=[0, 1], stimulus2=[0, 1])
    with pytest.raises(StoreError, match=match):
        check_rdms(ds, "here")


def test_write_store_refuses_nan_rdms(tmp_path):
    ds = _ds(_random_rdms(np.random.default_rng(2), (1, 2), 4))
    ds["rdm"][0, 0, 1, 2] = np.nan
    with pytest.raises(StoreError, match="NaN"):
        write_store(ds, tmp_path / "x.zarr", kind="rdms")
    assert not (tmp_path / "x.zarr").exists()


# ---------------------------------------------------------------- readers


@pytest.fixture()
def manifest(tmp_path):
    """A manifest of 6 images (files exist; ids are not in file order on purpose)."""
    ids = ["b", "a", "c", "f", "e", "d"]
    for i in ids:
        (tmp_path / f"{i}.png").write_bytes(b"")
    path = tmp_path / "stimuli.tsv"
    pd.DataFrame({"stimulus": ids, "file": [f"{i}.png" for i in ids]}).to_csv(
        path, sep="\t", index=False
    )
    return path, ids


def _mat_struct(path, rdms, names):
    structs = np.empty((1, *rdms.shape[:-2]), dtype=[("RDM", object), ("name", object)])
    for idx in np.ndindex(rdms.shape[:-2]):
        structs[(0, *idx)] = (rdms[idx], np.array([names[idx]]))
    savemat(path, {"RDMs": structs})


def test_read_mat_struct_array_and_npz(tmp_path, manifest):
    path, ids = manifest
    rng = np.random.default_rng(3)
    rdms = _random_rdms(rng, (2, 3), 6)  # 2 subjects x 3 sessions
    names = np.array([[f"IT | S{s} | Session: {k}" for k in (1, 2, 3)] for s in (1, 2)])
    _mat_struct(tmp_path / "it.mat", rdms, names)
    flat, labels = read_rdm_file(tmp_path / "it.mat")
    assert flat.shape == (6, 6, 6) and labels[1] == "IT | S1 | Session: 2"
    np.testing.assert_allclose(flat[4], rdms[1, 1])

    evc = _random_rdms(rng, (6,), 6)
    np.savez(tmp_path / "evc.npz", arr_0=evc[:5])
    with pytest.raises(ValueError, match=r"evc.npz \(region 'EVC'\) holds 5 replicates, .*it.mat"):
        read_rdms(
            [{"region": "IT"}, {"region": "EVC"}],
            [tmp_path / "it.mat", tmp_path / "evc.npz"],
            path,
        )
    np.savez(tmp_path / "evc.npz", arr_0=evc, other=evc[0])
    with pytest.raises(ValueError, match=r"has arrays \['arr_0', 'other'\]; set `variable`"):
        read_rdm_file(tmp_path / "evc.npz")
    ds = read_rdms(
        [{"region": "EVC", "variable": "arr_0"}, {"region": "IT"}],
        [tmp_path / "evc.npz", tmp_path / "it.mat"],
        path,
        dissimilarity="correlation distance",
    )
    assert ds.sizes == {"region": 2, "replicate": 6, "stimulus": 6, "stimulus2": 6}
    assert ds["stimulus"].values.tolist() == ids  # the manifest's row order
    assert ds["replicate"].values.tolist() == [str(i) for i in range(1, 7)]  # names differ
    np.testing.assert_allclose(ds["rdm"].sel(region="IT").values, rdms.reshape(6, 6, 6))
    assert ds.attrs["dissimilarity"] == "correlation distance"


def test_read_npz_of_write_rdm_npz_and_folder_ids(tmp_path):
    rdms = _random_rdms(np.random.default_rng(4), (3,), 4)
    write_rdm_npz(tmp_path / "r.npz", rdms, list("abcd"), names=["run-1", "run-2", "run-3"])
    folder = tmp_path / "images"
    folder.mkdir()
    for stem in ("img_3", "img_1", "img_2", "img_4"):
        (folder / f"{stem}.jpg").write_bytes(b"")
    ds = read_rdms([{"region": "V1"}], [tmp_path / "r.npz"], folder)
    assert ds["replicate"].values.tolist() == ["run-1", "run-2", "run-3"]
    assert ds["stimulus"].values.tolist() == ["img_1", "img_2", "img_3", "img_4"]  # sorted stems


def test_reader_errors_name_the_file_and_the_fix(tmp_path, manifest):
    path, _ = manifest
    np.save(tmp_path / "five.npy", _random_rdms(np.random.default_rng(5), (2,), 5))
    with pytest.raises(ValueError, match=r"five.npy \(region 'X'\) is 5 x 5 but the stimulus "):
        read_rdms([{"region": "X"}], [tmp_path / "five.npy"], path)
    savemat(tmp_path / "m.mat", {"other": np.zeros((3, 3))})
    with pytest.raises(ValueError, match=r"no variable 'RDMs' \(found \['other'\]\); set `var"):
        read_rdm_file(tmp_path / "m.mat")
    np.save(tmp_path / "rect.npy", np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"shape \(2, 3, 4\); expected square RDMs"):
        read_rdm_file(tmp_path / "rect.npy")
    (tmp_path / "r.csv").write_text("1,2")
    with pytest.raises(ValueError, match=r"unknown format '\.csv'"):
        read_rdm_file(tmp_path / "r.csv")
    asym = _random_rdms(np.random.default_rng(6), (2,), 6)
    asym[1, 0, 1] += 1.0
    np.save(tmp_path / "asym.npy", asym)
    with pytest.raises(StoreError, match=r"asym.npy is not symmetric \(region 'X', replicate '2'"):
        read_rdms([{"region": "X"}], [tmp_path / "asym.npy"], path)


# ---------------------------------------------------------------- category RDMs of responses


def _responses(rng, n_runs=3, categories=("a", "b", "c", "d"), voxels=(6, 4)):
    trials = [(str(r), c) for r in range(1, n_runs + 1) for c in categories for _ in range(2)]
    region = np.repeat(["V1", "IT"], voxels)
    prototypes = rng.normal(size=(len(categories), sum(voxels)))
    data = np.stack([prototypes[categories.index(c)] for _, c in trials])
    data = data + 0.5 * rng.normal(size=data.shape)
    return xr.Dataset(
        {"data": (("trial", "voxel"), data)},
        coords={
            "stimulus": ("trial", [f"{c}{i}" for i, (_, c) in enumerate(trials)]),
            "condition": ("trial", [c for _, c in trials]),
            "run": ("trial", [r for r, _ in trials]),
            "region": ("voxel", region),
        },
        attrs={"kind": "responses", "modality": "fmri", "tr": 2.0},
    )


def test_category_rdms_per_region_and_run():
    responses = _responses(np.random.default_rng(7))
    ds = category_rdms(responses)
    assert ds.sizes == {"region": 2, "replicate": 3, "stimulus": 4, "stimulus2": 4}
    assert ds["region"].values.tolist() == ["V1", "IT"]
    assert ds["replicate"].values.tolist() == ["1", "2", "3"]
    assert ds["stimulus"].values.tolist() == ["a", "b", "c", "d"]
    data = responses["data"].values
    run2 = responses["run"].values == "2"
    cond = responses["condition"].values
    means = np.stack([data[run2 & (cond == c)][:, 6:].mean(axis=0) for c in "abcd"])
    expected = 1 - np.corrcoef(means)
    np.fill_diagonal(expected, 0)
    np.testing.assert_allclose(ds["rdm"].sel(region="IT", replicate="2").values, expected)
    assert "correlation distance" in ds.attrs["dissimilarity"]
    one = category_rdms(responses, replicate_by=None)
    assert one.sizes["replicate"] == 1
    rdm, labels = category_rdm(responses)
    assert labels.tolist() == ["a", "b", "c", "d"]
    np.testing.assert_allclose(rdm, rdm.T)
    np.testing.assert_array_equal(np.diag(rdm), 0)


def test_category_rdms_need_every_category_in_every_run():
    responses = _responses(np.random.default_rng(8))
    keep = ~((responses["run"].values == "3") & (responses["condition"].values == "b"))
    with pytest.raises(ValueError, match=r"category 'b' has no trial in replicate '3'"):
        category_rdms(responses.isel(trial=keep), source="haxby.zarr")
    with pytest.raises(ValueError, match="no trial coord 'block'"):
        category_rdms(responses, replicate_by="block")


def test_brain_rdms_and_decode_steps(tmp_path):
    responses = _responses(np.random.default_rng(9))
    write_store(responses, tmp_path / "h.zarr", kind="responses")
    inputs = {"brain": str(tmp_path / "h.zarr")}
    brain_rdms(
        inputs, {"store": tmp_path / "h.rdms.zarr"}, {"name": "h", "rdm": {"by": "condition"}}
    )
    ds = open_store(tmp_path / "h.rdms.zarr", "rdms", load=True, values=True)
    check_rdms(ds)
    assert ds.attrs["dataset"] == "h" and ds.sizes["replicate"] == 3
    table = tmp_path / "decoding" / "h.tsv"
    decode(inputs, {"table": table}, {"name": "h", "decode": {"n_permutations": 20}, "seed": 0})
    row = pd.read_csv(table, sep="\t").iloc[0]
    assert list(row.index) == [
        "dataset", "by", "accuracy", "chance", "p_value", "null_mean", "n_permutations", "n_folds"
    ]  # fmt: skip
    assert row["n_folds"] == 3 and row["chance"] == 0.25 and row["n_permutations"] == 20
    assert row["accuracy"] > 0.9 and row["p_value"] < 0.1  # planted category prototypes


def test_category_rdms_take_replicate_groups(tmp_path, caplog):
    """rdm.replicates groups the runs' RDMs by subject: the store carries the labels and the
    noise ceiling computed from it leaves one subject out."""
    responses = _responses(np.random.default_rng(11), n_runs=4)
    write_store(responses, tmp_path / "h.zarr", kind="responses")
    inputs, out = {"brain": str(tmp_path / "h.zarr")}, {"store": tmp_path / "h.rdms.zarr"}
    groups = {"subject": ["s1", "s1", "s2", "s2"], "session": [1, 2, 1, 2]}
    with caplog.at_level(logging.INFO, logger="brainbridge.steps.brain_rdms"):
        brain_rdms(inputs, out, {"name": "h", "rdm": {"by": "condition", "replicates": groups}})
    assert "leave one subject out" in caplog.text
    ds = open_store(out["store"], "rdms", load=True, values=True)
    assert ds["subject"].values.tolist() == groups["subject"]
    assert ds["session"].values.tolist() == ["1", "2", "1", "2"]
    vectors = RDMVectors.from_square(ds["rdm"].sel(region="IT").values)
    by_subject = noise_ceiling_leave_one_out(vectors, SPEARMAN, ds["subject"].values)
    by_run = noise_ceiling_leave_one_out(vectors, SPEARMAN)
    assert by_subject.lower != pytest.approx(by_run.lower)  # 2 groups of 2 runs, not 4 runs
    assert f"IT: Spearman noise ceiling {by_subject.lower:.3f}" in caplog.text
    bad = {"name": "h", "rdm": {"replicates": {"subject": ["s1", "s2"]}}}
    with pytest.raises(ValueError, match=r"datasets.h.rdm: replicates.subject has 2 .* 4 "):
        brain_rdms(inputs, {"store": tmp_path / "bad.rdms.zarr"}, bad)
    assert not (tmp_path / "bad.rdms.zarr").exists()


# ---------------------------------------------------------------- noise ceiling, replicate mean


def _noisy_replicates(rng, k=6, n=12):
    truth = upper_triangle(_random_rdms(rng, (), n))
    return np.abs(truth + 0.6 * truth.std() * rng.normal(size=(k, truth.size)))


@pytest.mark.parametrize("metric", [SPEARMAN, PEARSON, "rsa-rdm=correlation-compare=cosine"])
def test_noise_ceiling_matches_rsatoolbox_or_numpy(metric):
    rng = np.random.default_rng(10)
    vectors = _noisy_replicates(rng)
    vectors[0, :3] = vectors[0, 3]  # ties: spearman pools mean ranks
    nc = noise_ceiling_leave_one_out(RDMVectors(vectors), metric)
    method = get_metric(metric).compare_method
    try:
        import rsatoolbox
    except ImportError:  # direct computation, same conventions
        from scipy.stats import pearsonr, spearmanr

        def sim(a, b):
            if method == "spearman":
                return spearmanr(a, b)[0]
            if method == "pearson":
                return pearsonr(a, b)[0]
            return a @ b / np.linalg.norm(a) / np.linalg.norm(b)

        k = len(vectors)
        lower = np.mean(
            [sim(pool_rdm_vectors(np.delete(vectors, i, 0), method), vectors[i]) for i in range(k)]
        )
        upper = np.mean([sim(pool_rdm_vectors(vectors, method), v) for v in vectors])
    else:
        rdms = rsatoolbox.rdm.RDMs(vectors)
        their = {"spearman": "spearman", "pearson": "corr", "cosine": "cosine"}[method]
        lower, upper = rsatoolbox.inference.boot_noise_ceiling(rdms, method=their)
    assert nc.n_replicates == 6 and 0 < nc.lower < nc.upper <= 1
    np.testing.assert_allclose([nc.lower, nc.upper], [lower, upper], rtol=1e-10, atol=1e-12)


def test_replicate_mean_score_is_rsatoolbox_fixed_model_evaluation():
    rng = np.random.default_rng(11)
    vectors = _noisy_replicates(rng, n=10)
    patterns = rng.normal(size=(10, 7))
    mean_metric = ReplicateMean(SPEARMAN)
    per_replicate = get_metric(SPEARMAN).score(RDMVectors(vectors), patterns)
    assert np.isclose(mean_metric.score(RDMVectors(vectors), patterns), per_replicate.mean())
    perms = np.stack([rng.permutation(10) for _ in range(5)])
    null = mean_metric.permutation_scores(RDMVectors(vectors), patterns, perms)
    assert null.shape == (5,)
    model = upper_triangle(compute_rdms(patterns[perms[2]], "correlation"))
    same = get_metric(SPEARMAN).score(RDMVectors(vectors), RDMVectors(model)).mean()
    assert np.isclose(null[2], same)
    rsatoolbox = pytest.importorskip("rsatoolbox")  # a reported skip, not a silent pass
    data = rsatoolbox.rdm.RDMs(vectors)
    model_rdm = rsatoolbox.rdm.RDMs(upper_triangle(compute_rdms(patterns, "correlation"))[None])
    theirs = rsatoolbox.rdm.compare(model_rdm, data, method="spearman").mean()
    assert np.isclose(mean_metric.score(RDMVectors(vectors), patterns), theirs, atol=1e-12)


def test_noise_ceiling_needs_two_replicates():
    nc = noise_ceiling_leave_one_out(RDMVectors(np.ones((1, 6)) + np.arange(6)), SPEARMAN)
    assert np.isnan(nc.lower) and np.isnan(nc.upper)
    with pytest.raises(TypeError, match="needs patterns"):
        ReplicateMean(CKA)


# ---------------------------------------------------------------- alignment of brain RDMs


@pytest.fixture()
def planted(tmp_path):
    """Brain RDMs: region `match` = noisy replicates of layer `deep`'s RDM; `noise` = random."""
    rng = np.random.default_rng(12)
    n = 24
    ids = [f"img{i:02d}" for i in range(n)]
    deep = rng.normal(size=(n, 40))
    shallow = rng.normal(size=(n, 30))
    truth = compute_rdms(deep, "correlation")
    noisy = truth + 0.15 * rng.normal(size=(5, n, n))
    noisy = np.abs(noisy + np.swapaxes(noisy, -1, -2)) / 2
    noisy[:, np.arange(n), np.arange(n)] = 0
    rdms = np.stack([noisy, _random_rdms(rng, (5,), n)])
    brain = rdms_dataset(
        rdms, regions=["match", "noise"], replicates=list("abcde"), stimuli=ids, dissimilarity="x"
    )
    brain.attrs["dataset"] = "planted"
    write_store(brain, tmp_path / "brain.zarr", kind="rdms")
    order = rng.permutation(n)  # the activation store lists the stimuli in another order
    acts = xr.Dataset(
        {
            "shallow": (("stimulus", "feature:shallow"), shallow[order].astype(np.float32)),
            "deep": (("stimulus", "feature:deep"), deep[order].astype(np.float32)),
        },
        coords={"stimulus": np.array(ids)[order]},
        attrs={"model": "net"},
    )
    write_store(acts, tmp_path / "net.zarr", kind="activations")
    return tmp_path


def _params(metrics, **extra):
    cfg = {"metrics": metrics, "n_permutations": 200, "n_bootstrap": 50, "ci": 0.95}
    return {"dataset": "planted", "model": "net", "alignment": cfg, "seed": 0, **extra}


def test_align_brain_rdms_finds_the_planted_layer(planted, caplog):
    inputs = {"brain": str(planted / "brain.zarr"), "activations": str(planted / "net.zarr")}
    outputs = {"store": planted / "al.zarr", "table": planted / "al.tsv"}
    with caplog.at_level(logging.WARNING):
        align(inputs, outputs, _params([SPEARMAN, CKA], layers=["shallow", "d*"]))
    assert "skipping ['cka-kernel=linear-hsic=unbiased'] (needs patterns)" in caplog.text
    ds = open_store(outputs["store"], "alignment", load=True)
    assert ds["metric"].values.tolist() == [SPEARMAN]
    assert ds["layer"].values.tolist() == ["shallow", "deep"]  # store order, globs resolved
    score = ds["score"].sel(metric=SPEARMAN)
    p = ds["p_value"].sel(metric=SPEARMAN)
    assert float(score.sel(region="match", layer="deep")) > 0.5
    assert float(p.sel(region="match", layer="deep")) < 0.01
    assert abs(float(score.sel(region="noise", layer="deep"))) < 0.15
    assert float(p.sel(region="match", layer="shallow")) > 0.05
    assert float(p.sel(region="noise", layer="deep")) > 0.05
    low = float(ds["noise_ceiling_lower"].sel(metric=SPEARMAN, region="match"))
    high = float(ds["noise_ceiling_upper"].sel(metric=SPEARMAN, region="match"))
    assert 0.5 < low < high and float(score.sel(region="match", layer="deep")) <= high
    ci = ds[["ci_low", "ci_high"]].sel(metric=SPEARMAN, region="match", layer="deep")
    assert (
        float(ci["ci_low"]) < float(score.sel(region="match", layer="deep")) < float(ci["ci_high"])
    )
    assert ds.attrs["brain_kind"] == "rdms" and ds.attrs["n_replicates"] == 5
    table = pd.read_csv(outputs["table"], sep="\t")
    assert len(table) == 4 and set(table["region"]) == {"match", "noise"}


def test_align_brain_rdms_refuses_cka_only(planted):
    inputs = {"brain": str(planted / "brain.zarr"), "activations": str(planted / "net.zarr")}
    outputs = {"store": planted / "c.zarr", "table": planted / "c.tsv"}
    with pytest.raises(ValueError, match=r"only RSA metrics can compare.*rsa-rdm=correlation"):
        align(inputs, outputs, _params([CKA]))
    assert not outputs["store"].exists()


def test_ingest_rdm_step(tmp_path, manifest):
    path, ids = manifest
    np.save(tmp_path / "v1.npy", _random_rdms(np.random.default_rng(13), (4,), 6))
    params = {"name": "d", "modality": "fmri", "rdms": [{"region": "V1", "file": "ignored"}]}
    ingest_rdm(
        {"rdms": [str(tmp_path / "v1.npy")], "stimuli": str(path)},
        {"store": tmp_path / "d.zarr"},
        params,
    )
    ds = open_store(tmp_path / "d.zarr", "rdms", load=True, values=True)
    assert ds.attrs["dataset"] == "d" and ds["stimulus"].values.tolist() == ids
    assert ds.attrs["provenance"]["step"] == "ingest-rdm"


# ---------------------------------------------------------------- config


def _rdm_config(**dataset):
    return {
        "output_dir": "out",
        "models": {},
        "datasets": {
            "hIT": {
                "modality": "fmri",
                "source": "rdm",
                "rdms": [{"region": "hIT", "file": "a.mat"}],
                "stimuli": "s.tsv",
                **dataset,
            }
        },
    }


def test_config_rdm_keys():
    check_config(_rdm_config())  # no tr needed
    with pytest.raises(ConfigError, match=r"datasets.hIT': 'stimuli' is a required property"):
        cfg = _rdm_config()
        del cfg["datasets"]["hIT"]["stimuli"]
        check_config(cfg)
    with pytest.raises(ConfigError, match=r"datasets.hIT.decode' applies to fMRI responses"):
        check_config(_rdm_config(decode={"by": "condition"}))
    with pytest.raises(ConfigError, match=r"datasets.hIT.rdms': region names must be unique"):
        check_config(_rdm_config(rdms=[{"region": "a", "file": "x"}, {"region": "a", "file": "y"}]))
    cfg = _rdm_config()
    cfg["models"] = {"m": {"source": "simnet", "checkpoint": "c", "stimuli": "s", "layers": ["x"]}}
    cfg["alignment"] = {"metrics": [CKA]}
    with pytest.raises(ConfigError, match=r"'alignment.metrics': datasets \['hIT'\] hold brain"):
        check_config(cfg)


@pytest.mark.parametrize("name", ["resnet20-rsa92", "resnet56-algonauts78", "haxby-sub001"])
def test_example_configs_validate(name):
    config = load_config(ROOT / "config" / "examples" / f"{name}.yaml")
    if name == "haxby-sub001":
        assert config["datasets"]["haxby-sub001"]["decode"]["n_permutations"] == 100
    else:
        assert any(d["source"] == "rdm" for d in config["datasets"].values())
