"""Config validation: the shipped configs pass, mistakes name the key and the fix."""

from __future__ import annotations

import copy

import pytest
import yaml

from brainbridge.cli import main
from brainbridge.config import ConfigError, check_config, load_config


@pytest.fixture
def default(root) -> dict:
    return yaml.safe_load((root / "config" / "config.yaml").read_text())


def test_shipped_configs_are_valid(root):
    for path in [
        root / "config" / "config.yaml",
        *sorted((root / "config" / "examples").glob("*.yaml")),
    ]:
        config = load_config(path)
        assert config["datasets"] or config["models"]  # activations-only configs have no dataset


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c.update(outptu_dir="x"), "allowed keys here"),
        (lambda c: c["encoding"].update(n_folds="five"), "key 'encoding.n_folds'"),
        (lambda c: c["datasets"]["sim-eeg"].update(modality="pet"), "choose one of"),
        (lambda c: c["alignment"].update(metrics=["rsa-spearman"]), "unknown metric"),
        (lambda c: c["simulation"].update(enabled=False), "'simulation.enabled' is not true"),
        (lambda c: c["datasets"]["sim-fmri"].pop("tr"), "'datasets.sim-fmri.tr' is required"),
        (lambda c: c["simulation"]["eeg"]["windows"][0].update(tmax=0.0), "tmax must exceed"),
    ],
)
def test_mistakes_name_the_key(default, edit, message):
    config = copy.deepcopy(default)
    edit(config)
    with pytest.raises(ConfigError, match=message):
        check_config(config, "my.yaml")


def test_cli_validate_config(root, tmp_path, capsys):
    assert main(["validate-config", str(root / "config" / "config.yaml")]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("output_dir: 3\nmodels: {}\ndatasets: {}\n")
    assert main(["validate-config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "key 'output_dir'" in err and "bad.yaml" in err
