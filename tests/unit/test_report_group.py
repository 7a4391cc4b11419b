"""The report's group-level alignment section and its temporal-generalization figures."""

from __future__ import annotations

import re

import numpy as np
import pytest
import xarray as xr

from brainbridge.decode.timegen import Clusters
from brainbridge.report.group import group_sections
from brainbridge.steps.alignment import align_group
from brainbridge.steps.decoding import _generalization_dataset
from brainbridge.steps.reporting import report
from brainbridge.store import write_store

N_SUBJECTS = 8


def _subject(rng: np.random.Generator, name: str) -> xr.Dataset:
    """One subject's EEG alignment store: an effect in both layers at time points 10-19."""
    shape = (1, 1, 2, 30)  # metric, region, layer, time
    score = rng.normal(0, 0.05, size=shape)
    score[..., 10:20] += 0.2
    dims = ("metric", "region", "layer", "time")
    return xr.Dataset(
        {"score": (dims, score), "null_mean": (dims, np.full(shape, 0.01))},
        coords={
            "metric": ["rsa-rdm=correlation-compare=spearman"],
            "region": ["scalp"],
            "layer": ["a", "b"],
            "time": np.arange(30) / 100,
        },
        attrs={"dataset": name, "modality": "eeg", "model": "net"},
    )


def _rdm_dataset() -> xr.Dataset:
    """A brain-RDM dataset's store with group tests over its subjects (layer 'b' significant)."""
    dims = ("metric", "region", "layer")
    value = np.array([[[0.05, 0.3]]])
    grid = {
        "score": value,
        "ci_low": value - 0.1,
        "ci_high": value + 0.1,
        "p_value": np.array([[[0.4, 0.01]]]),
        "group_t": np.array([[[0.5, 6.0]]]),
        "group_p_ttest": np.array([[[0.3, 0.001]]]),
        "group_p_signflip": np.array([[[0.3, 0.0625]]]),
        "group_p_fdr": np.array([[[0.3, 0.125]]]),
        "group_p_cluster": np.array([[[1.0, 0.0625]]]),
        "n_subjects": np.full((1, 1, 2), 4.0),
    }
    grid["group_p_cluster"][0, 0, 1] = 0.03
    return xr.Dataset(
        {k: (dims, v) for k, v in grid.items()},
        coords={
            "metric": ["rsa-rdm=correlation-compare=pearson"],
            "region": ["hIT <b>"],
            "layer": ["a", "b"],
        },
        attrs={
            "dataset": "rdms<x>",
            "model": "net",
            "modality": "fmri",
            "brain_kind": "rdms",
            "n_subjects": 4,
            "provenance": {"config": {"alignment": {"n_flips": 10000}}},
        },
    )


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("group")
    rng = np.random.default_rng(5)
    paths = []
    for i in range(N_SUBJECTS):
        write_store(_subject(rng, f"s{i}"), root / f"s{i}.zarr", kind="alignment")
        paths.append(str(root / f"s{i}.zarr"))
    group = {"store": root / "g.zarr", "table": root / "g.tsv"}
    params = {
        "group": "all",
        "datasets": [f"s{i}" for i in range(N_SUBJECTS)],
        "model": "net",
        "alignment": {"ci": 0.95, "n_flips": 10000},
        "seed": 0,
    }
    align_group({"alignment": paths}, group, params)
    write_store(_rdm_dataset(), root / "rdms.zarr", kind="alignment")
    times = np.arange(12) / 100
    mask = np.zeros((12, 12), dtype=np.int32)
    mask[4:8, 4:8] = 1
    diag = Clusters(labels=np.diag(mask).copy(), p_values=np.array([0.01]), t_obs=np.zeros(12))
    matrix = Clusters(labels=mask, p_values=np.array([0.02]), t_obs=np.zeros((12, 12)))
    gen = _generalization_dataset(
        times, mask * 0.3 + 0.5, np.diag(mask) * 0.3 + 0.5, diag, matrix,
        chance=0.5, scoring="accuracy",
    )  # fmt: skip
    gen.attrs.update(dataset="eeg-motor")
    write_store(gen, root / "timegen.zarr", kind="generalization")
    return {"root": root, "group": group, "subjects": paths}


def test_group_section_shows_corrected_significance(stores):
    root = stores["root"]
    (section,) = group_sections([root / "rdms.zarr", *stores["subjects"][:1]], [root / "g.zarr"])
    body = section.body
    assert section.title == "Group-level alignment"
    # the group store (all 2^8 flips) and the brain-RDM dataset (4 subjects), each with methods
    assert "all 2<sup>8</sup> sign flips (exact)" in body and "s0, s1" in body
    assert "the 4 subjects of rdms&lt;x&gt;" in body and "all 2<sup>4</sup>" in body
    assert body.count('class="methods"') == 2  # the single subjects' stores have no group tests
    assert "hIT &lt;b&gt;" in body and "hIT <b>" not in body  # labels are escaped
    rows = re.findall(r"<tr>(.*?)</tr>", body)
    cells = [re.findall(r"<td>(.*?)</td>", r) for r in rows if "<td>" in r]
    eeg = [c for c in cells if c[0] == "scalp"]
    assert len(eeg) == 2  # one row per layer, at its peak time
    for row in eeg:
        peak = int(row[2].removesuffix(" ms"))
        assert 100 <= peak < 200 and row[-1] == "✓"  # inside the planted window, significant
    rdm = {c[1]: c for c in cells if c[0] == "hIT &lt;b&gt;"}
    assert rdm["b"][-1] == "✓" and rdm["b"][-2] == "0.030" and rdm["a"][-1] == ""
    assert body.count("<img") == 2  # one t map (EEG region), one score heat map (RDM dataset)


def test_no_group_section_without_group_tests(stores):
    assert group_sections(stores["subjects"][:2], []) == []


def test_report_step_shows_group_results_and_temporal_generalization(stores):
    root = stores["root"]
    out = {"html": root / "report.html", "alignment_table": root / "alignment.tsv"}
    inputs = {
        "alignment": [str(root / "rdms.zarr")],
        "alignment_tables": [str(stores["group"]["table"])],
        "group_alignment": [str(stores["group"]["store"])],
        "timegen": [str(root / "timegen.zarr")],
    }
    report(inputs, out, {})
    html = out["html"].read_text()
    assert "Group-level alignment" in html and "all 2<sup>8</sup> sign flips" in html
    assert "eeg-motor: temporal generalization" in html
    assert html.index("Group-level alignment") < html.index("temporal generalization")
