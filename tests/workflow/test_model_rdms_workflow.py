"""Snakemake run of precomputed model RDMs (Net2Brain's Algonauts-78 ResNet-18 layer RDMs)
against the Algonauts-78 fMRI RDMs: no network, no extraction, no encoding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rsatoolbox
import yaml

pytestmark = [pytest.mark.workflow, pytest.mark.realdata]

EXAMPLE = "config/examples/algonauts78-model-rdms.yaml"
SPEARMAN = "rsa-rdm=correlation-compare=spearman"


def test_algonauts_model_rdms_through_the_workflow(root, shared_data, tmp_path, snakemake):
    config = yaml.safe_load((root / EXAMPLE).read_text())
    config["paths"]["data"] = str(shared_data)
    config["output_dir"] = "out"
    config["alignment"].update(n_permutations=200, n_bootstrap=100)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "--configfile", str(tmp_path / "config.yaml"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    log = result.stdout + result.stderr
    assert "rule model_rdms" in log and "rule extract" not in log and "rule encode" not in log
    table = pd.read_csv(tmp_path / "out" / "tables" / "alignment.tsv", sep="\t")
    spearman = table[table["metric"] == SPEARMAN].set_index(["region", "layer"])
    assert len(spearman) == 4

    # the scores are rsatoolbox's fixed-model evaluation: mean Spearman over the 15 subjects
    data = shared_data / "algonauts78"
    for region in ("EVC", "IT"):
        brain = rsatoolbox.rdm.RDMs(np.load(data / f"fmri_{region}_RDMs.npz")["arr_0"])
        for layer in ("layer3.1.conv2", "layer4.1.bn2"):
            square = np.load(data / "model_rdms" / f"{layer}.npz")["arr_0"]
            model = rsatoolbox.rdm.RDMs(square[None])
            theirs = rsatoolbox.rdm.compare(model, brain, method="spearman").mean()
            assert spearman.loc[(region, layer), "score"] == pytest.approx(theirs, abs=1e-6)
            assert spearman.loc[(region, layer), "p_value"] < 0.05
    html = (tmp_path / "out" / "report.html").read_text()
    assert "RDMs and MDS" in html and "algonauts78 · net2brain-resnet18" in html
