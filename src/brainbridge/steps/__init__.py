"""Workflow steps: each takes named inputs, named outputs and the config subset it needs.

One function per Snakemake rule (MNE-BIDS-Pipeline style). The science lives in the
subpackages; a step only reads its inputs, calls them and writes its outputs.

The registry is lazy: ``STEPS`` maps a step name to ``"module:function"`` and nothing is imported
until a step runs (:func:`get_step`), so ``brainbridge run STEP`` pays only for what STEP needs.
To add a step:

1. write ``def my_step(inputs: dict, outputs: dict, params: dict) -> None`` in a module of
   ``brainbridge.steps`` and declare its contract beside it with
   :func:`brainbridge.steps.contract.declare` (inputs, outputs and config keys it reads);
2. add one line here: ``"my-step": "brainbridge.steps.my_module:my_step"``;
3. keep the module's top-level imports to what the step needs (heavy optional libraries
   imported inside the functions that use them).

The workflow hashes the source of the modules a step imports (:mod:`brainbridge.code_version`)
from the same string, so a library change reruns exactly the steps that import it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

Step = Callable[[dict, dict, dict], None]

STEPS: dict[str, str] = {
    "simulate-stimuli": "brainbridge.steps.simulation:simulate_stimuli",
    "train-network": "brainbridge.steps.simulation:train_simulation_network",
    "extract": "brainbridge.steps.simulation:extract",
    "simulate-eeg": "brainbridge.steps.simulation:simulate_eeg_recording",
    "simulate-fmri": "brainbridge.steps.simulation:simulate_fmri_recording",
    "ingest-eeg": "brainbridge.steps.ingestion:ingest_eeg",
    "ingest-fmri": "brainbridge.steps.ingestion:ingest_fmri",
    "ingest-meeg": "brainbridge.steps.ingestion:ingest_recording",
    "qc-report": "brainbridge.steps.ingestion:qc_report",
    "ingest-rdm": "brainbridge.steps.brain_rdms:ingest_rdm",
    "brain-rdms": "brainbridge.steps.brain_rdms:brain_rdms",
    "decode": "brainbridge.steps.brain_rdms:decode",
    "decode-identity": "brainbridge.steps.decoding:decode_layers",
    "concat-tables": "brainbridge.steps.decoding:concat_tables",
    "generalize": "brainbridge.steps.decoding:generalize",
    "generalize-group": "brainbridge.steps.decoding:generalize_group",
    "decoding-report": "brainbridge.steps.decoding:decoding_report",
    "encode": "brainbridge.steps.encoding:encode",
    "partition": "brainbridge.steps.partition:partition",
    "trf": "brainbridge.steps.trf:trf",
    "align": "brainbridge.steps.alignment:align",
    "align-group": "brainbridge.steps.alignment:align_group",
    "model-rdms": "brainbridge.steps.model_rdms:ingest_model_rdm",
    "searchlight": "brainbridge.steps.searchlight:searchlight",
    "recover": "brainbridge.steps.recovery:recover",
    "report": "brainbridge.steps.reporting:report",
    "train-tokenizer": "brainbridge.steps.tokenization:train_tokenizer",
    "tokenize": "brainbridge.steps.tokenization:tokenize_dataset",
    "token-brain": "brainbridge.steps.tokenization:token_brain",
    "probe-tokens": "brainbridge.steps.tokenization:probe_tokens",
}


def step_module(name: str) -> str:
    """The module that defines step ``name`` (nothing imported)."""
    target = STEPS[name]
    return target.partition(":")[0] if isinstance(target, str) else target.__module__


def get_step(name: str) -> Step:
    """Import and return the function of step ``name``."""
    target = STEPS[name]
    if not isinstance(target, str):  # a function registered directly
        return target
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)
