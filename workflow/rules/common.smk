# Shared paths and helpers. Rules are thin: inputs, outputs, params, resources, log, one call.
import json
import shlex
import sys

from brainbridge import workflow_support as ws
from brainbridge.code_version import code_version
from brainbridge.safety import inside_output

OUT = config["output_dir"]
SIM = f"{OUT}/simulation"
DATASETS = list(config["datasets"])
# continuous recordings (channel x time) have no trials: no encoding / alignment; TRFs (trf.smk)
CONTINUOUS = [d for d in DATASETS if config["datasets"][d].get("store") == "continuous"]
MODELS = list(config["models"])
RDM_MODELS = [m for m in MODELS if config["models"][m]["source"] == "rdm"]  # precomputed RDMs
EXTRACTED = [m for m in MODELS if m not in RDM_MODELS]  # networks: activations, encoding
SIMULATION = config.get("simulation", {})  # absent in configs without the simulated experiment
SIMULATED = SIMULATION.get("enabled", False)
TOKENIZERS = config.get("tokenizers") or {}  # brain tokenizers, by name (tokenize.smk)
N_RUNS = config.get("simulation", {}).get("fmri", {}).get("runs", 2)

# one BLAS / OpenMP thread pool per job, sized by the rule's threads
ENV = "export OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} MKL_NUM_THREADS={threads};"
RUN = f"{shlex.quote(sys.executable)} -m brainbridge run"  # the interpreter running Snakemake
RUN += f" --output-dir {shlex.quote(OUT)}"  # each step refuses outputs outside output_dir


def as_json(value):
    """A config subset as one shell-quoted JSON argument (and Snakemake's params record)."""
    return shlex.quote(ws.as_json(value))


def input_args(**groups):
    """`-i key=path` per path (`-i key+=path` for lists), for `brainbridge run`."""
    args = []
    for key, paths in groups.items():
        if isinstance(paths, str):
            args.append(f"-i {key}={shlex.quote(paths)}")
        else:
            args.extend(f"-i {key}+={shlex.quote(str(p))}" for p in paths)
    return " ".join(args)


def manifest_of(model):
    stimuli = ws.model_config(config, model)["stimuli"]
    return f"{SIM}/stimuli/manifest.tsv" if stimuli == "simulation" else stimuli


def checkpoint_of(model):
    """The weight file (an input); [] for `package:` checkpoints, found at run time."""
    weights = ws.model_config(config, model)["checkpoint"]
    if weights.startswith("package:"):
        return []
    return f"{SIM}/network.pt" if weights == "simulation" else weights


def model_config(model):
    """A model's settings with its path settings expanded."""
    return ws.model_config(config, model)


# Cluster resources. Training rules (tagged by `**TRAINING`) ask for `resources.gpu` GPUs
# (config key, default 0): the SLURM plugin turns `gpu` into `--gpus`; 0 asks for none.
GPUS = config.get("resources", {}).get("gpu", 0)
TRAINING = {"gpu": GPUS} if GPUS else {}
# Job groups (`group: "ingest"`, `"pairs"`): under SLURM the profile's `group-components`
# packs many small jobs of one group into one submission; local runs ignore groups.


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
            *tokenizer_targets(),  # tokenize.smk
            *trf_targets(),  # trf.smk (feature files)
        ]
    return [
        *tokenizer_targets(),
        f"{OUT}/report.html",
        *([f"{OUT}/tables/encoding.tsv"] if ENCODED and EXTRACTED else []),  # ENCODED: rdms.smk
        f"{OUT}/tables/alignment.tsv",
        *recovery_outputs(),
        *rdms_targets(),
        *decoding_targets(),  # decode_models.smk
        *partition_targets(),  # partition.smk
        *trf_targets(),  # trf.smk
    ]


def brain_store(dataset):
    return f"{OUT}/brain/{dataset}.zarr"


def recovery_outputs():
    return [f"{OUT}/tables/recovery.tsv"] if SIMULATED else []
