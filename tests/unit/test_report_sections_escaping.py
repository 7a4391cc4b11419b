"""The encoding-statistics, variance-partition and decoding sections show user-given names as text.

Each section is built by running its step on small stores whose region, dataset and
model names carry markup; the HTML must hold each name escaped and none of its raw markup.
Layer names are markup-free here because the steps refuse such names before running.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from brainbridge.report.escape import escape
from brainbridge.store import write_store

N = 30
IDS = [f"img{i:02d}" for i in range(N)]
REGION = "<img src=x onerror=alert(1)>"
OTHER = "<b>B"
DATASET = "<script>set"
MODEL = "<u>net"
NAMES = [REGION, OTHER, DATASET, MODEL]


def _assert_escaped(html: str, names: list[str]) -> None:
    for name in names:
        assert name not in html, f"raw {name!r} in the HTML"
        assert escape(name) in html, f"{name!r} missing from the HTML"


@pytest.fixture()
def stores(tmp_path):
    """Layers ``a`` and ``b``; both hostile-named fMRI regions read ``a``."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(N, 6)), rng.normal(size=(N, 6))
    acts = xr.Dataset(
        {"a": (("stimulus", "feature:a"), a), "b": (("stimulus", "feature:b"), b)},
        coords={"stimulus": IDS},
        attrs={"model": MODEL},
    )
    write_store(acts, tmp_path / "net.zarr", kind="activations")
    trials = np.tile(np.arange(N), 2)
    region = np.repeat([REGION, OTHER], 4)
    data = rng.normal(size=(2 * N, region.size)) + 2 * (a @ rng.normal(size=(6, 8)))[trials]
    fmri = xr.Dataset(
        {"data": (("trial", "voxel"), data)},
        coords={"stimulus": ("trial", np.array(IDS)[trials]), "region": ("voxel", region)},
        attrs={"modality": "fmri", "dataset": DATASET},
    )
    write_store(fmri, tmp_path / "fmri.zarr", kind="responses")
    return tmp_path


def test_encoding_statistics_section_escapes_names(stores):
    from brainbridge.report import build_report
    from brainbridge.steps.encoding import encode

    out = {"store": stores / "enc.zarr", "table": stores / "enc.tsv"}
    encoding = {"alphas": [1.0, 100.0], "n_folds": 3, "backend": "numpy"}
    encoding |= {"n_permutations": 19, "n_bootstrap": 19}
    inputs = {"brain": stores / "fmri.zarr", "activations": stores / "net.zarr"}
    encode(inputs, out, {"dataset": DATASET, "model": MODEL, "seed": 0, "encoding": encoding})
    html = build_report(encoding=[out["store"]], alignment=[], out=stores / "r.html")
    html = html.read_text(encoding="utf-8")
    assert "NC: noise ceiling" in html  # the ceiling and significance marks are drawn
    _assert_escaped(html, [DATASET, MODEL])  # regions are drawn in the figures only
    assert REGION not in html and OTHER not in html


def test_partition_section_escapes_names(stores):
    from brainbridge.report.partition import partition_section
    from brainbridge.steps.partition import partition

    out = {"store": stores / "part.zarr", "table": stores / "part.tsv"}
    settings = {"alphas": [1.0, 100.0], "n_candidates": 2, "n_folds": 3, "inner_folds": 3}
    params = {"dataset": DATASET, "model": MODEL, "spaces": ["a", "b"], "seed": 0}
    params["partition"] = {**settings, "backend": "numpy"}
    partition({"brain": stores / "fmri.zarr", "activations": stores / "net.zarr"}, out, params)
    _assert_escaped(partition_section([out["store"]]).body, NAMES)


def test_decoding_section_escapes_names(stores):
    from brainbridge.report.decoding import decoding_section
    from brainbridge.steps import get_step

    decoding = {"n_folds": 2, "pca": 4, "top_k": [1, 5], "n_permutations": 9}
    decoding |= {"alphas": [1.0, 100.0], "backend": "numpy", "decoders": ["ridge"]}
    params = {"dataset": DATASET, "model": MODEL, "layers": ["a"], "decoding": decoding}
    out = {"store": stores / "dec.zarr", "table": stores / "dec.tsv"}
    inputs = {"brain": stores / "fmri.zarr", "activations": stores / "net.zarr"}
    get_step("decode-identity")(inputs, out, params)
    body = decoding_section([out["store"]]).body
    _assert_escaped(body, [REGION])  # the table names the best region
    assert "<img" not in body.replace('<img src="data:image/png', "")
