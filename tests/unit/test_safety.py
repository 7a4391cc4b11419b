"""User-given names and paths: refused with the key and an allowed spelling; outputs stay inside.

Each hostile spelling of the issue (shell, path, wildcard and HTML characters) is tried on every
kind of name the config holds, through the config checker that both ``validate-config`` and the
Snakefile run; outputs are checked by the one function the steps use.
"""

from __future__ import annotations

import argparse
import copy
import os
import re

import pytest
import yaml

from brainbridge.cli import cmd_run, cmd_validate_config
from brainbridge.config import ConfigError, check_config, load_schema
from brainbridge.safety import (
    PATTERNS,
    OutputEscapeError,
    UnsafeNameError,
    check_name,
    inside_output,
    is_valid,
    suggest,
)

HOSTILE = [
    "a;b",
    "my dataset",
    "a<b",
    "a__b",
    "f(x)",
    "../../escaped",
    "x`touch pwned`",
    "$(touch pwned)",
    "a/b",
    "a|b",
    "a&b",
    "a'b",
    'a"b',
    "a{b}",
    "-rf",
    "..",
    "a.b",  # no dots in file-name names: 'x.rdms' would collide with the RDM store of 'x'
    "a_",  # a trailing '_' would make 'a___m' ambiguous
    "",
]


@pytest.fixture
def default(root) -> dict:
    return yaml.safe_load((root / "config" / "config.yaml").read_text())


def test_schema_patterns_are_the_library_patterns():
    defs = load_schema()["$defs"]
    assert {k: defs[k]["pattern"] for k in PATTERNS} == PATTERNS


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused_and_the_suggestion_is_allowed(name):
    assert not is_valid(name, "name")
    assert is_valid(suggest(name, "name"), "name")
    with pytest.raises(UnsafeNameError, match=r"key 'datasets\.X'.*e\.g\. '"):
        check_name(name, "datasets.X")


@pytest.mark.parametrize("name", ["sim-eeg", "eegbci-imagery", "resnet20", "S001", "a_b-c", "hIT"])
def test_ordinary_names_pass(name):
    assert check_name(name, "models.x") == name


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("V1", "label"),
        ("Left-Amygdala", "label"),
        ("ctx.lh+1", "label"),
        ("layer1.*.relu", "layer"),
        ("encoder.layer.0", "layer"),
        ("blocks[0-3]", "layer"),
    ],
)
def test_labels_and_layers_allow_their_own_spellings(name, kind):
    assert is_valid(name, kind)


def test_suggestions_read_like_the_name():
    assert suggest("x`touch pwned`") == "x_touch_pwned"
    assert suggest("../../escaped") == "escaped"
    assert suggest("my dataset") == "my_dataset"
    assert suggest("a__b") == "a_b"


SECTIONS = {
    "dataset": lambda c, n: c["datasets"].__setitem__(n, c["datasets"].pop("sim-eeg")),
    "model": lambda c, n: c["models"].__setitem__(n, c["models"].pop("simnet")),
    "tokenizer": lambda c, n: c.__setitem__("tokenizers", {n: {}}),
}


@pytest.mark.parametrize("section", sorted(SECTIONS))
@pytest.mark.parametrize("name", ["a;b", "my dataset", "a<b", "a__b", "f(x)", "../../escaped"])
def test_config_refuses_hostile_names_naming_the_key(default, section, name):
    config = copy.deepcopy(default)
    SECTIONS[section](config, name)
    with pytest.raises(ConfigError) as err:
        check_config(config, "my.yaml")
    plural = f"{section}s"
    assert f"my.yaml: key '{plural}.{name}': name {name!r} is not allowed" in str(err.value)
    assert f"e.g. {suggest(name)!r}" in str(err.value)


def _at(config: dict, key: str):
    """The container holding ``key``'s last part, and that part (an int for list items)."""
    *parents, last = [int(p) if p.isdigit() else p for p in key.split(".")]
    for part in parents:
        config = config[part] if not isinstance(config, dict) else config.setdefault(part, {})
    return config, last


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("simulation.fmri.regions.0.name", "label"),
        ("simulation.eeg.windows.1.layer", "layer"),
        ("models.simnet.layers.2", "layer"),
        ("simulation.eeg.dataset", "name"),
    ],
)
@pytest.mark.parametrize("value", ["../../x", "x`touch pwned`", "<svg onload=alert(1)>", "a b"])
def test_config_refuses_hostile_region_and_layer_names(default, key, kind, value):
    config = copy.deepcopy(default)
    container, last = _at(config, key)
    container[last] = value
    with pytest.raises(ConfigError, match=re.escape(f"key '{key}': {kind} {value!r}")):
        check_config(config)


@pytest.mark.parametrize("value", ["../../escaped", "<svg onload=alert(1)>", "a;b"])
def test_config_refuses_hostile_roi_names(default, value):
    config = copy.deepcopy(default)
    config["datasets"]["sim-fmri"]["regions"] = {"rois": {value: "mask.nii.gz"}}
    key = f"datasets.sim-fmri.regions.rois.{value}"
    with pytest.raises(ConfigError, match=re.escape(f"key '{key}': label {value!r}")):
        check_config(config)


@pytest.mark.parametrize(
    ("key", "fix"),
    [
        ("datasets.sim-eeg.prepocessing", "preprocessing"),
        ("datasets.sim-fmri.glm.estimatr", "estimator"),
        ("datasets.sim-fmri.cleaning.confounds.strategyy", "strategy"),
        ("models.simnet.layer", "layers"),
        ("simulation.eeg.windows.0.snrr", "snr"),
        ("alignmnet", "alignment"),
    ],
)
def test_misspelt_keys_at_any_depth_name_the_nearest_key(default, key, fix):
    config = copy.deepcopy(default)
    container, last = _at(config, key)
    container[last] = {}
    with pytest.raises(ConfigError, match=f"key '{key}': unknown key; did you mean '{fix}'"):
        check_config(config, "my.yaml")


def test_schema_confound_keys_are_nilearns():
    from brainbridge.ingest.fmri.cleaning import LOAD_CONFOUNDS_KEYS

    dataset = load_schema()["properties"]["datasets"]["additionalProperties"]
    confounds = dataset["properties"]["cleaning"]["properties"]["confounds"]
    assert set(confounds["properties"]) == LOAD_CONFOUNDS_KEYS | {"columns"}


def test_validate_config_refuses_a_misspelt_nested_key(root, tmp_path, capsys):
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    config["datasets"]["sim-eeg"]["prepocessing"] = {"l_freq": 1.0}
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(config))
    assert cmd_validate_config(argparse.Namespace(config=path)) == 1
    err = capsys.readouterr().err
    assert "key 'datasets.sim-eeg.prepocessing'" in err and "did you mean 'preprocessing'" in err


def test_inside_output(tmp_path):
    out = tmp_path / "results"
    assert inside_output(out / "brain" / "x.zarr", out) == (out / "brain" / "x.zarr").resolve()
    for bad in (out / "brain" / ".." / ".." / "escaped.zarr", tmp_path / "other", out):
        with pytest.raises(OutputEscapeError, match="outside the output folder"):
            inside_output(bad, out)
    (out).mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", out / "link")  # a link out of the folder is refused too
    with pytest.raises(OutputEscapeError):
        inside_output(out / "link" / "x.zarr", out)


def test_a_step_refuses_an_output_outside_output_dir(tmp_path, capsys):
    """`brainbridge run --output-dir` checks every output before the step starts."""
    out = tmp_path / "results"
    victim = tmp_path / "escaped.zarr"
    victim.mkdir()
    (victim / "keep").write_text("an existing store outside output_dir")
    args = argparse.Namespace(
        step="simulate-stimuli",
        input=None,
        output=[f"manifest={out}/../escaped.zarr"],
        params='{"stimuli": {"per_category": 5}}',
        threads=1,
        output_dir=out,
    )
    code = cmd_run(args)
    assert code == 2
    assert "outside the output folder" in capsys.readouterr().err
    assert (victim / "keep").read_text() == "an existing store outside output_dir"
    assert not out.exists()


def test_every_path_placeholder_in_the_rules_is_quoted(root):
    """`{input.x}`, `{output.x}`, `{log}` reach the shell only as `:q` (or via shlex.quote)."""
    raw = re.compile(r"\{(input|output|log)(\.\w+|\[\w+\])?\}")
    rules = sorted((root / "workflow" / "rules").glob("*.smk"))
    found = [f"{p.name}: {m.group(0)}" for p in rules for m in raw.finditer(p.read_text())]
    assert rules and not found, found
    assert any("{output.store:q}" in p.read_text() for p in rules)


def test_every_object_with_properties_refuses_unknown_keys():
    """`additionalProperties: false` wherever keys are listed (`if` conditions excepted)."""

    def open_nodes(node, path):
        if isinstance(node, dict):
            if "properties" in node and path[-1:] != ["if"]:
                if node.get("additionalProperties") is not False:
                    yield ".".join(map(str, path))
            for key, value in node.items():
                yield from open_nodes(value, [*path, key])
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from open_nodes(value, [*path, i])

    assert list(open_nodes(load_schema(), [])) == []
