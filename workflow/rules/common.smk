# Shared paths and helpers. Rules are thin: inputs, outputs, params, resources, log, one call.
import json
import shlex
import sys

from brainbridge.config import expand_path
from brainbridge.safety import inside_output

OUT = config["output_dir"]
SIM = f"{OUT}/simulation"
DATASETS = list(config["datasets"])
MODELS = list(config["models"])
RDM_MODELS = [m for m in MODELS if config["models"][m]["source"] == "rdm"]  # precomputed RDMs
EXTRACTED = [m for m in MODELS if m not in RDM_MODELS]  # networks: activations, encoding
SIMULATION = config.get("simulation", {})  # absent in configs without the simulated experiment
SIMULATED = SIMULATION.get("enabled", False)
N_RUNS = config.get("simulation", {}).get("fmri", {}).get("runs", 2)

# one BLAS / OpenMP thread pool per job, sized by the rule's threads
ENV = "export OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} MKL_NUM_THREADS={threads};"
RUN = f"{shlex.quote(sys.executable)} -m brainbridge run"  # the interpreter running Snakemake
RUN += f" --output-dir {shlex.quote(OUT)}"  # each step refuses outputs outside output_dir


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
    """The weight file (an input); [] for `package:` checkpoints, found at run time."""
    weights = config["models"][model]["checkpoint"]
    if weights.startswith("package:"):
        return []
    return f"{SIM}/network.pt" if weights == "simulation" else path(weights)


def model_config(model):
    """A model's settings with its path settings expanded."""
    cfg = dict(config["models"][model])
    if not cfg["checkpoint"].startswith("package:") and cfg["checkpoint"] != "simulation":
        cfg["checkpoint"] = path(cfg["checkpoint"])
    return cfg


def final_targets():
    """The report and tables; only the activation stores when no dataset is configured."""
    targets = _final_targets()
    for target in targets:
        inside_output(target, OUT)  # brainbridge.safety: nothing may resolve outside output_dir
    return targets


def _final_targets():
    if not DATASETS:
        return expand(f"{OUT}/activations/{{model}}.zarr", model=MODELS)
    if not MODELS:  # nothing to compare with: the brain stores and their QC report
        return [
            f"{OUT}/qc_report.html",
            *(f"{OUT}/brain/{d}.zarr" for d in DATASETS),
            *rdms_targets(),
            *decoding_targets(),  # decode_models.smk
        ]
    return [
        f"{OUT}/report.html",
        *([f"{OUT}/tables/encoding.tsv"] if ENCODED and EXTRACTED else []),  # ENCODED: rdms.smk
        f"{OUT}/tables/alignment.tsv",
        *recovery_outputs(),
        *rdms_targets(),
        *decoding_targets(),  # decode_models.smk
    ]


def brain_store(dataset):
    return f"{OUT}/brain/{dataset}.zarr"


def recovery_outputs():
    return [f"{OUT}/tables/recovery.tsv"] if SIMULATED else []
