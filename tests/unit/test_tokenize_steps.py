"""The tokenizer steps (what the Snakemake rules call) on a tiny store."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from tokenizer_fixtures import TINY_TFM, epochs_store

from brainbridge.cli import main as cli_main
from brainbridge.steps import get_step
from brainbridge.store import open_store
from brainbridge.store.provenance import checksum
from brainbridge.tokenize import TokenizerDataError

torch.set_num_threads(1)


def _outputs(tmp_path):
    folder = tmp_path / "tokenizers" / "tiny"
    return {
        "weights": str(folder / "model.safetensors"),
        "config": str(folder / "config.json"),
        "health": str(folder / "health.tsv"),
    }


def test_train_tokenize_and_brain_view(tmp_path, capsys):
    store = epochs_store(tmp_path / "eeg.zarr")
    out = _outputs(tmp_path)
    resume = tmp_path / "tokenizers" / ".resume-tiny"
    params = {"name": "tiny", "tokenizer": TINY_TFM, "seed": 0, "resume": str(resume)}
    get_step("train-tokenizer")({"stores": [str(store)]}, out, params)
    assert not resume.exists()  # removed once the checkpoint is written
    meta = json.loads(open(out["config"]).read())
    assert meta["config"]["codebook_size"] == 16 and set(meta["scales"]) == {"eeg"}
    assert meta["inputs"] == {"eeg.zarr": checksum(store)}
    health = pd.read_csv(out["health"], sep="\t")
    assert list(health["epoch"]) == [1, 2]
    tokens = tmp_path / "tokens.zarr"
    inputs = {"weights": out["weights"], "config": out["config"], "brain": str(store)}
    get_step("tokenize")(inputs, {"store": str(tokens)}, {"tokenizer": "tiny", "dataset": "eeg"})
    ds = open_store(tokens, "tokens", load=True, values=True)
    assert ds.attrs["checkpoint_sha256"] == checksum(out["weights"])
    assert ds.attrs["provenance"]["inputs"]["weights"]["sha256"] == checksum(out["weights"])
    brain = tmp_path / "brain" / "eeg@tiny.zarr"
    get_step("token-brain")({"tokens": str(tokens)}, {"store": str(brain)}, {"name": "eeg@tiny"})
    view = open_store(brain, "epochs", load=True)
    assert view.attrs["dataset"] == "eeg@tiny" and view.sizes["time"] == 10
    assert cli_main(["info", str(tokens)]) == 0
    shown = capsys.readouterr().out
    assert "kind: tokens" in shown and "codes used" in shown


def test_bad_input_writes_nothing(tmp_path):
    store = epochs_store(tmp_path / "eeg.zarr", sfreq=250.0)
    out = _outputs(tmp_path)
    resume = tmp_path / "tokenizers" / ".resume-tiny"
    params = {"name": "tiny", "tokenizer": TINY_TFM, "seed": 0, "resume": str(resume)}
    with pytest.raises(TokenizerDataError, match="250 Hz"):
        get_step("train-tokenizer")({"stores": [str(store)]}, out, params)
    assert not (tmp_path / "tokenizers").exists()


def test_report_section_shows_health(tmp_path):
    from brainbridge.report.tokenizers import tokenizer_section
    from brainbridge.tokenize.health import COLUMNS

    rows = [
        {c: 0.5 for c in COLUMNS} | {"epoch": e, "level": lvl, "dead_codes": 3, "windows": 8}
        for e in (1, 2)
        for lvl in (0, 1)
    ]
    path = tmp_path / "tokenizers" / "<b>tok" / "health.tsv"
    path.parent.mkdir(parents=True)
    pd.DataFrame(rows, columns=list(COLUMNS)).to_csv(path, sep="\t", index=False)
    section = tokenizer_section([path])
    assert section.title == "Brain tokenizers"
    assert section.body.count("<img") == 1 and "&lt;b&gt;tok" in section.body
    assert "<b>tok" not in section.body
    assert tokenizer_section([]) is None


def test_probe_step_tokens_band_power_and_untrained(tmp_path):
    """The probe of left (10 Hz) vs right (20 Hz) trials: band power separates them with a
    small permutation p; every feature set gets a row; a missing label is refused by name."""
    store = epochs_store(tmp_path / "eeg.zarr", n_trials=24)
    out = _outputs(tmp_path)
    params = {"name": "tiny", "tokenizer": {**TINY_TFM, "epochs": 1}, "seed": 0}
    get_step("train-tokenizer")({"stores": [str(store)]}, out, params)
    tokens = tmp_path / "tokens.zarr"
    inputs = {"weights": out["weights"], "config": out["config"], "brain": str(store)}
    get_step("tokenize")(inputs, {"store": str(tokens)}, {"tokenizer": "tiny", "dataset": "eeg"})
    probe = {"by": "condition", "n_folds": 4, "n_permutations": 200, "tmin": 0.0}
    table = tmp_path / "tokenizers" / "tiny" / "probe-eeg.tsv"
    params = {"tokenizer": "tiny", "dataset": "eeg", "probe": probe, "seed": 0}
    get_step("probe-tokens")({**inputs, "tokens": str(tokens)}, {"table": str(table)}, params)
    rows = pd.read_csv(table, sep="\t").set_index("features")
    assert set(rows.index) == {
        "band power (mu, beta)",
        "tokens: code histograms",
        "tokens: pooled code vectors",
        "random codebook: code histograms",
        "random codebook: pooled code vectors",
    }
    assert rows["accuracy"].between(0, 1).all() and rows["p_value"].between(1 / 201, 1).all()
    assert (rows["n_trials"] == 24).all() and rows.loc["band power (mu, beta)", "n_features"] == 8
    band = rows.loc["band power (mu, beta)"]
    assert band["accuracy"] >= 0.9 and band["p_value"] < 0.05
    # 4 channels x 16 codes (one level) from the 5 token centres at or after 0 s
    assert rows.loc["tokens: code histograms", "n_features"] == 64
    from brainbridge.report.tokenizers import probe_html

    assert "random codebook: code histograms" in probe_html([table])
    bad = {**params, "probe": {**probe, "by": "side"}}
    with pytest.raises(ValueError, match=r"tokenizers\.tiny\.probe\.by"):
        get_step("probe-tokens")(
            {**inputs, "tokens": str(tokens)}, {"table": str(tmp_path / "x.tsv")}, bad
        )
    assert not (tmp_path / "x.tsv").exists()
