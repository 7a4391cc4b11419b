# Shared paths and helpers. Rules are thin: inputs, outputs, params, resources, log, one call.
import json
import shlex
import sys

from brainbridge.config import expand_path

OUT = config["output_dir"]
SIM = f"{OUT}/simulation"
DATASETS = list(config["datasets"])
MODELS = list(config["models"])
SIMULATED = config.get("simulation", {}).get("enabled", False)
N_RUNS = config.get("simulation", {}).get("fmri", {}).get("runs", 2)

# one BLAS / OpenMP thread pool per job, sized by the rule's threads
ENV = "export OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} MKL_NUM_THREADS={threads};"
RUN = f"{shlex.quote(sys.executable)} -m brainbridge run"  # the interpreter running Snakemake


def as_json(value):
    """A config subset as one shell-quoted JSON argument (and Snakemake's params record)."""
    return shlex.quote(json.dumps(value, sort_keys=True))


def input_args(**groups):
    """`-i key=path` per path (`-i key+=path` for lists), for `brainbridge run`."""
    args = []
    for key, paths in groups.items():
        if isinstance(paths, str):
            args.append(f"-i {key}={shlex.quote(paths)}")
        else:
            args.extend(f"-i {key}+={shlex.quote(str(p))}" for p in paths)
    return " ".join(args)


def path(value):
    """A path setting with {name} placeholders from `paths` expanded (e.g. {data}/eegbci)."""
    return expand_path(value, config)


def manifest_of(model):
    stimuli = config["models"][model]["stimuli"]
    return f"{SIM}/stimuli/manifest.tsv" if stimuli == "simulation" else path(stimuli)


def checkpoint_of(model):
    weights = config["models"][model]["checkpoint"]
    return f"{SIM}/network.pt" if weights == "simulation" else path(weights)


def brain_store(dataset):
    return f"{OUT}/brain/{dataset}.zarr"


def recovery_outputs():
    return [f"{OUT}/tables/recovery.tsv"] if SIMULATED else []
