"""Snakemake runs: a dry run of every shipped config, and the embedded default end to end.

The end-to-end run is also the correctness test of the whole pipeline: the simulation plants
known layers into known regions and time windows, and every method must recover them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr
import yaml

from brainbridge.cli import main as cli_main
from brainbridge.store import open_store
from brainbridge.store.provenance import checksum

pytestmark = pytest.mark.workflow


def _workdir(root: Path, tmp: Path, config: Path) -> Path:
    """A fresh working directory whose config/config.yaml is ``config``."""
    (tmp / "config").mkdir(parents=True)
    shutil.copy(config, tmp / "config" / "config.yaml")
    settings = yaml.safe_load(config.read_text()) or {}
    if settings.get("paths"):  # path settings are relative to the repository root
        settings["paths"] = {k: str((root / v).resolve()) for k, v in settings["paths"].items()}
        (tmp / "config" / "config.yaml").write_text(yaml.safe_dump(settings))
    return tmp


def shipped_configs() -> list[Path]:
    root = Path(__file__).resolve().parents[2]
    return [root / "config" / "config.yaml", *sorted((root / "config" / "examples").glob("*.yaml"))]


@pytest.mark.parametrize("config", shipped_configs(), ids=lambda p: p.name)
def test_dry_run(root, tmp_path, config, snakemake):
    result = snakemake(_workdir(root, tmp_path, config), "-n")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    has_datasets = bool((yaml.safe_load(config.read_text()) or {}).get("datasets"))
    assert ("report" if has_datasets else "extract") in result.stdout
    commands = step_commands(result.stdout)
    assert commands, "the dry run printed no `brainbridge run` command"
    for step, problems in commands:
        assert not problems, f"rule's call of step {step} breaks its contract: {problems}"


def step_commands(stdout: str) -> list[tuple[str, list[str]]]:
    """Each `brainbridge run` command printed by a dry run: its step, and what its contract
    finds missing or unexpected in the command's inputs, outputs and params."""
    from brainbridge.cli import _pairs
    from brainbridge.steps import get_step
    from brainbridge.steps.contract import contract_of

    found = []
    for line in stdout.splitlines():
        if " -m brainbridge run " not in line:
            continue
        words = shlex.split(line.split(" -m brainbridge run ", 1)[1].split(" 2> ")[0])
        if words[0] == "--output-dir":
            words = words[2:]
        step, flags = words[0], {"-i": [], "-o": [], "-p": [], "-t": []}
        for flag, value in zip(words[1::2], words[2::2]):
            flags[flag].append(value)
        params = json.loads(flags["-p"][0]) if flags["-p"] else {}
        contract = contract_of(get_step(step))
        problems = contract.problems(
            _pairs(flags["-i"], "-i"), _pairs(flags["-o"], "-o"), {**params, "threads": 1}
        )
        found.append((step, problems))
    return found


def test_bad_config_stops_the_workflow_with_the_key(root, tmp_path, snakemake):
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    config["alignment"]["metrics"] = ["rsa-corr"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake(_workdir(root, tmp_path / "w", path), "-n")
    assert result.returncode != 0
    assert "alignment.metrics.0" in result.stdout + result.stderr


@pytest.mark.realdata
def test_a_config_file_is_not_merged_with_the_default(root, shared_data, snakemake):
    """`--configfile` from the repository root runs only what that file declares."""
    config = root / "config" / "examples" / "resnet20-rsa92.yaml"
    result = snakemake(root, "-n", "--configfile", str(config))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "extract" in result.stdout
    assert "simulate_eeg" not in result.stdout and "sim-eeg" not in result.stdout


def test_config_overrides_apply_to_the_default(root, tmp_path, snakemake):
    workdir = _workdir(root, tmp_path, root / "config" / "config.yaml")
    result = snakemake(workdir, "-n", "--config", "output_dir=elsewhere")
    assert result.returncode == 0 and "elsewhere/report.html" in result.stdout


@pytest.fixture(scope="module")
def demo(quick_run) -> Path:
    return quick_run  # the quick config run once per session (tests/workflow/conftest.py)


def test_planted_truth_is_recovered(demo):
    table = pd.read_csv(demo / "tables" / "recovery.tsv", sep="\t")
    assert set(table["method"]) == {
        "encoding",
        "rsa-rdm=correlation-compare=spearman",
        "cka-kernel=linear-hsic=unbiased",
    }
    # 3 fMRI regions + 3 EEG windows, 3 methods each; the EEG windows again from the tokens
    assert len(table) == 6 * 3 + 3 * 3
    tokens = table["dataset"] == "sim-eeg@sim-tfm"
    misses = table[~table["match"] & ~tokens]
    assert misses.empty, misses.to_string()
    # the tokens as a brain store: encoding, RSA and CKA recover every planted window, the
    # high-SNR middle one (conv2) included
    assert tokens.sum() == 9 and table.loc[tokens, "score_best"].notna().all()
    assert table.loc[tokens, "match"].all(), table[tokens].to_string()


@pytest.mark.parametrize("decoder", ["ridge", "contrastive"])
def test_decoding_identifies_stimuli_from_the_planted_units(demo, decoder):
    """Identification by both decoders: the window / region of a planted layer identifies the
    held-out stimuli above chance (p < 0.05) and best from its own layer (lowest mean rank).
    Ridge decodes every unit; the contrastive decoder (linear encoder, the default) the planted
    units listed in decoding.contrastive.units of the quick config."""
    table = pd.read_csv(demo / "tables" / "decoding.tsv", sep="\t")
    table = table[
        (table["metric"] == "correlation")
        & (table["level"] == "trial")
        & (table["decoder"] == decoder)
        & table["top1"].notna()  # units the decoder was trained on
    ]
    planted = {
        "sim-fmri": {"V1": "conv1", "V4": "conv2", "IT": "conv3"},
        "sim-eeg": {0.09: "conv1", 0.19: "conv2", 0.33: "conv3"},
    }
    for dataset, units in planted.items():
        rows = table[table["dataset"] == dataset]
        for unit, layer in units.items():
            if dataset == "sim-eeg":
                nearest = rows["time"].iloc[(rows["time"] - unit).abs().argmin()]
                assert abs(nearest - unit) < 0.03, rows["time"].unique()
                at = rows[rows["time"] == nearest]
            else:
                at = rows[rows["region"] == unit]
            assert sorted(at["layer"]) == ["conv1", "conv2", "conv3"], at.to_string()
            best = at.loc[at["mean_rank"].idxmin()]
            assert best["layer"] == layer, at.to_string()
            assert best["top1"] > best["chance_top1"] and best["p_value"] < 0.05


def test_outputs_follow_the_store_contract(demo):
    eeg = open_store(demo / "brain" / "sim-eeg.zarr", "epochs")
    assert eeg.sizes["trial"] == 240 and eeg.attrs["sfreq"] == 100.0
    fmri = open_store(demo / "brain" / "sim-fmri.zarr", "responses")
    assert set(fmri["region"].values) == {"V1", "V4", "IT"}
    align = open_store(demo / "alignment" / "sim-eeg__simnet.zarr", "alignment", load=True)
    assert align["score"].dims == ("metric", "region", "layer", "time")
    assert float(align["p_value"].min()) <= 1 / 101 + 1e-9  # the planted windows are significant
    prov = align.attrs["provenance"]
    assert prov["step"] == "align" and set(prov["inputs"]) == {"brain", "activations"}


def test_report_and_tables(demo):
    html = (demo / "report.html").read_text()
    assert "Planted vs recovered" in html and html.count("<img") >= 6
    tidy = pd.read_csv(demo / "tables" / "alignment.tsv", sep="\t")
    assert {"score", "p_value", "ci_low", "ci_high", "noise_ceiling_upper"} <= set(tidy.columns)
    assert set(tidy["dataset"]) == {"sim-eeg", "sim-fmri", "sim-eeg@sim-tfm"}
    assert "Brain tokenizers" in html


def test_variance_partition_of_conv2_and_conv3(demo):
    """The planted EEG windows show variance unique to their layer (conv2 middle, conv3 late),
    fMRI region IT unique to conv3; the regions add up to the joint banded model's R^2."""
    table = pd.read_csv(demo / "tables" / "partition.tsv", sep="\t")
    assert set(table["spaces"]) == {"conv2+conv3"}
    assert {"sim-eeg", "sim-fmri"} <= set(table["dataset"])
    table["time"] = table["time"].fillna(-1.0)
    wide = table.pivot_table(
        index=["dataset", "region", "time"], columns="component", values="value"
    )
    regions = wide["unique:conv2"] + wide["unique:conv3"] + wide["shared:conv2+conv3"]
    assert (regions - wide["r2:conv2+conv3"]).abs().max() < 1e-5
    eeg = wide.loc[("sim-eeg", "scalp")]
    middle = eeg[(eeg.index >= 0.15) & (eeg.index <= 0.23)].mean()  # planted: conv2
    late = eeg[(eeg.index >= 0.27) & (eeg.index <= 0.39)].mean()  # planted: conv3
    assert middle["unique:conv2"] > middle["unique:conv3"] + 0.03
    assert late["unique:conv3"] > late["unique:conv2"] + 0.03
    it = wide.loc[("sim-fmri", "IT", -1.0)]
    assert it["unique:conv3"] > it["unique:conv2"] and it["shared:conv2+conv3"] > 0.05
    assert "Variance partitioning" in (demo / "report.html").read_text()


def test_searchlight_maps(demo):
    """The quick config enables searchlights: stores, NIfTI maps (fMRI), report section."""
    for dataset, dims in (("sim-fmri", ("voxel",)), ("sim-eeg", ("channel", "time"))):
        ds = open_store(demo / "searchlight" / f"{dataset}__simnet.zarr", "searchlight")
        assert ds["score"].dims[2:] == dims and ds.sizes["layer"] >= 3
    assert sorted(p.name for p in (demo / "searchlight" / "sim-fmri__simnet.maps").iterdir())
    assert "Searchlight maps" in (demo / "report.html").read_text()


def test_cli_info_shows_provenance(demo, capsys):
    assert cli_main(["info", str(demo / "encoding" / "sim-fmri__simnet.zarr")]) == 0
    out = capsys.readouterr().out
    assert "kind: encoding" in out and "provenance" in out and "sha256" in out


def test_tokenizer_outputs(demo, capsys):
    health = pd.read_csv(demo / "tokenizers" / "sim-tfm" / "health.tsv", sep="\t")
    assert list(health["epoch"]) == [1, 2, 3]
    assert (health["perplexity"] > 4).all()  # the codebook did not collapse onto few codes
    tokens = open_store(demo / "tokens" / "sim-tfm" / "sim-eeg.zarr", "tokens", load=True)
    assert tokens["codes"].dims == ("trial", "channel", "token", "level")
    assert tokens.sizes["trial"] == 240 and tokens.sizes["channel"] == 33
    sha = tokens.attrs["checkpoint_sha256"]
    assert sha == checksum(demo / "tokenizers" / "sim-tfm" / "model.safetensors")
    assert not (demo / "tokenizers" / ".resume-sim-tfm").exists()
    assert cli_main(["info", str(demo / "tokens" / "sim-tfm" / "sim-eeg.zarr")]) == 0
    out = capsys.readouterr().out
    assert "kind: tokens" in out and "codes used" in out and sha in out


def test_rerun_is_a_no_op(root, demo, snakemake):
    result = snakemake(demo.parent, "-n")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


def planned_jobs(stdout: str) -> dict[str, int]:
    """The job counts of a dry run's "Job stats" table (no table: nothing to do)."""
    lines = stdout.splitlines()
    if "Job stats:" not in lines:
        return {}
    rows = lines[lines.index("Job stats:") + 3 :]
    jobs = {}
    for row in rows:
        name, _, count = row.partition(" ")
        if name == "total" or not count.strip().isdigit():
            break
        jobs[name] = int(count)
    return jobs


def _dry_run_with(snakemake, demo: Path, tmp: Path, change, env=None) -> dict[str, int]:
    config = yaml.safe_load((demo.parent / "config" / "config.yaml").read_text())
    change(config)
    path = tmp / "changed.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake(demo.parent, "-n", "--configfile", str(path), env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return planned_jobs(result.stdout)


def test_an_fmri_setting_reruns_only_fmri_jobs(demo, tmp_path, snakemake):
    def snr(config):
        config["simulation"]["fmri"]["regions"][0]["snr"] = 2.5

    assert _dry_run_with(snakemake, demo, tmp_path, snr) == {
        "simulate_fmri": 1,
        "simulation_truth": 1,
        "ingest_fmri": 1,
        "encode": 1,
        "align": 1,
        "searchlight": 1,
        "decode_identity": 3,  # the fMRI dataset x 3 layers
        "decoding_table": 1,
        "decoding_report": 1,
        "partition": 1,  # conv2 vs conv3 in the fMRI dataset
        "partition_table": 1,
        "recover": 1,
        "report": 1,
        "all": 1,
    }


def test_a_new_layer_resimulates_nothing(demo, tmp_path, snakemake):
    def layer(config):
        config["models"]["simnet"]["layers"].append("fc")

    # the activation store changes, so every job reading it reruns (EEG, fMRI and the tokens)
    assert _dry_run_with(snakemake, demo, tmp_path, layer) == {
        "extract": 1,
        "encode": 3,
        "align": 3,
        "searchlight": 2,
        "decode_identity": 12,  # 3 brain stores x 4 layers
        "decoding_table": 1,
        "decoding_report": 1,
        "partition": 3,  # conv2 vs conv3 in the 3 brain stores (the activation store changed)
        "partition_table": 1,
        "recover": 1,
        "report": 1,
        "all": 1,
    }


def test_a_library_edit_reruns_exactly_the_steps_that_import_it(demo, tmp_path, snakemake):
    import brainbridge

    src = tmp_path / "src"
    shutil.copytree(
        Path(brainbridge.__file__).parent,
        src / "brainbridge",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    with open(src / "brainbridge" / "align" / "stats.py", "a", encoding="utf-8") as handle:
        handle.write("\n# an edit\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }
    jobs = _dry_run_with(snakemake, demo, tmp_path, lambda config: None, env=env)
    # the steps whose modules import align.stats, and recover (its inputs change)
    assert jobs == {
        "align": 3,
        "searchlight": 2,
        "decoding_report": 1,
        "recover": 1,
        "report": 1,
        "all": 1,
    }


@pytest.mark.slurm
def test_a_slurm_run_equals_the_local_run(root, demo, tmp_path):
    """The quick config through workflow/profiles/slurm: every job submitted with sbatch, and
    the same results as the local run. Needs a cluster (.ci/run starts one with slurm-up)."""
    if shutil.which("sinfo") is None or subprocess.run(["sinfo"], capture_output=True).returncode:
        pytest.skip("no SLURM cluster here (sinfo absent or failing): ../shared/tools/slurm-up")
    workdir = _workdir(root, tmp_path, root / "config" / "examples" / "simulation-quick.yaml")
    venv_bin = str(Path(sys.executable).parent)
    result = subprocess.run(
        [
            str(Path(venv_bin) / "snakemake"),
            "--snakefile",
            str(root / "Snakefile"),
            "--directory",
            str(workdir),
            "--profile",
            str(root / "workflow" / "profiles" / "slurm"),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PATH": os.pathsep.join([venv_bin, os.environ["PATH"]])},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: (\S+)\)", output)
    assert submitted, output[-3000:]
    run_log = "".join(p.read_text() for p in (workdir / ".snakemake" / "log").glob("*.log"))
    assert all(f"SLURM jobid {job_id} " in run_log for job_id, _ in submitted)
    logs = " ".join(log for _, log in submitted)  # rule_NAME/ID.log or group_NAME_RULES/ID.log
    for rule in ("simulate_stimuli", "train_network", "extract", "simulate_eeg", "simulate_fmri"):
        assert rule in logs
    for rule in ("ingest_eeg", "ingest_fmri", "encode", "align", "recover", "report"):
        assert rule in logs
    n_jobs = sum(planned_jobs(output).values())
    assert 0 < len(submitted) < n_jobs  # the jobs of the run, grouped into fewer submissions
    slurm = workdir / "results-quick"
    for table in ("recovery.tsv", "alignment.tsv", "encoding.tsv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(slurm / "tables" / table, sep="\t"),
            pd.read_csv(demo / "tables" / table, sep="\t"),
        )
    stores = sorted(p.relative_to(demo) for p in demo.glob("*/*.zarr"))
    assert len(stores) >= 7  # brain, activations, encoding and alignment stores
    for store in stores:
        xr.testing.assert_equal(
            open_store(slurm / store, load=True), open_store(demo / store, load=True)
        )


def test_training_rules_ask_for_the_configured_gpus(root, tmp_path, snakemake):
    quick = root / "config" / "examples" / "simulation-quick.yaml"
    config = yaml.safe_load(quick.read_text())
    config["resources"] = {"gpu": 1}
    path = tmp_path / "gpu.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake(_workdir(root, tmp_path / "w", path), "-n")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    def resources(rule: str) -> str:
        block = result.stdout.split(f"rule {rule}:\n", 1)[1].split("\n\n", 1)[0]
        return next(line for line in block.splitlines() if "resources:" in line)

    assert "gpu=1" in resources("train_network")
    assert "gpu" not in resources("extract") and "gpu" not in resources("align")
