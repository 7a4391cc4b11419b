"""What the rules compute from the config: path settings, planted layers, merged truth."""

from __future__ import annotations

import json

import pytest

from brainbridge.config import ConfigError
from brainbridge.workflow_support import (
    dataset_config,
    eeg_inputs,
    expand_paths,
    fmri_inputs,
    merge_truth,
    model_config,
    planted_layers,
)

CONFIG = {
    "paths": {"data": "/d"},
    "models": {
        "net": {"checkpoint": "{data}/w.th", "stimuli": "{data}/m.tsv"},
        "pkg": {"checkpoint": "package:x", "stimuli": "simulation"},
    },
    "datasets": {
        "rdm": {
            "modality": "fmri",
            "source": "rdm",
            "stimuli": "{data}/s",
            "rdms": [{"region": "V1", "file": "{data}/v1.mat"}, {"region": "IT", "file": "it.mat"}],
        },
        "bold": {
            "modality": "fmri",
            "source": "raw",
            "files": ["{data}/r1.nii"],
            "event_files": ["{data}/e1.tsv"],
            "regions": {"rois": {"a": "{data}/a.nii"}, "atlas": "{data}/at.nii"},
        },
        "eeg": {
            "modality": "eeg",
            "source": "raw",
            "files": ["{data}/s.edf"],
            "events": {"table": "{data}/codes.tsv"},
        },
    },
    "simulation": {
        "eeg": {"windows": [{"layer": "conv1"}, {"layer": "conv3"}, {"layer": "conv1"}]},
        "fmri": {"regions": [{"layer": "conv2"}], "runs": 3},
    },
}


def test_expand_paths_follows_dotted_keys_and_wildcards() -> None:
    settings = {"a": {"b": "{data}/x", "c": "{data}/y"}, "l": ["{data}/1", "{data}/2"]}
    out = expand_paths(settings, CONFIG, ["a.b", "l.*", "missing.key"])
    assert out == {"a": {"b": "/d/x", "c": "{data}/y"}, "l": ["/d/1", "/d/2"]}
    assert settings["a"]["b"] == "{data}/x"  # the input is left unchanged


def test_each_kind_of_section_has_its_paths_expanded() -> None:
    assert model_config(CONFIG, "net") == {"checkpoint": "/d/w.th", "stimuli": "/d/m.tsv"}
    assert model_config(CONFIG, "pkg") == CONFIG["models"]["pkg"]  # not paths: kept
    rdm = dataset_config(CONFIG, "rdm")
    assert [e["file"] for e in rdm["rdms"]] == ["/d/v1.mat", "it.mat"] and rdm["stimuli"] == "/d/s"
    bold = dataset_config(CONFIG, "bold")
    assert bold["files"] == ["/d/r1.nii"] and bold["regions"]["rois"] == {"a": "/d/a.nii"}
    assert bold["regions"]["atlas"] == "/d/at.nii"
    assert dataset_config(CONFIG, "eeg")["events"]["table"] == "/d/codes.tsv"


def test_an_undefined_path_name_is_refused_with_the_names_defined() -> None:
    with pytest.raises(ConfigError, match=r"\{elsewhere\}.*defined: \['data'\]"):
        expand_paths({"f": "{elsewhere}/x"}, CONFIG, ["f"])


def test_fmri_inputs() -> None:
    raw = fmri_inputs(CONFIG, "bold", "sim")
    assert raw["bold"] == ["/d/r1.nii"] and raw["events"] == ["/d/e1.tsv"]
    assert raw["region_files"] == []  # not on disk: not an input
    config = {**CONFIG, "datasets": {"s": {"modality": "fmri", "source": "simulation"}}}
    assert fmri_inputs(config, "s", "sim")["bold"] == [
        f"sim/fmri/run-{r}_bold.nii.gz" for r in (1, 2, 3)
    ]


def test_planted_layers_and_merged_truth(tmp_path) -> None:
    assert planted_layers(CONFIG, "eeg") == ["conv1", "conv3"]
    assert planted_layers(CONFIG, "fmri") == ["conv2"]
    assert planted_layers({}, "fmri") == []
    (tmp_path / "e.json").write_text(json.dumps({"seed": 0, "eeg": {"dataset": "e"}}))
    (tmp_path / "f.json").write_text(json.dumps({"seed": 0, "fmri": {"dataset": "f"}}))
    merge_truth([tmp_path / "e.json", tmp_path / "f.json"], str(tmp_path / "t.json"))
    merged = json.loads((tmp_path / "t.json").read_text())
    assert merged == {"seed": 0, "eeg": {"dataset": "e"}, "fmri": {"dataset": "f"}}


def test_simulated_eeg_inputs() -> None:
    config = {"datasets": {"s": {"source": "simulation"}, "r": {"source": "raw"}}}
    assert eeg_inputs(config, "s", "sim") == {
        "raw": "sim/eeg/sim_raw.fif",
        "events": "sim/eeg/sim_events.tsv",
    }
    with pytest.raises(ValueError, match="dataset r: unsupported source 'raw'"):
        eeg_inputs(config, "r", "sim")
