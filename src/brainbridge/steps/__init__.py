"""Workflow steps: each takes named inputs, named outputs and the config subset it needs.

One function per Snakemake rule (MNE-BIDS-Pipeline style). The science lives in the
subpackages; a step only reads its inputs, calls them and writes its outputs.
"""

from __future__ import annotations

from collections.abc import Callable

from brainbridge.steps import (
    alignment,
    brain_rdms,
    decoding,
    encoding,
    ingestion,
    model_rdms,
    recovery,
    reporting,
    searchlight,
    simulation,
)

Step = Callable[[dict, dict, dict], None]

STEPS: dict[str, Step] = {
    "simulate-stimuli": simulation.simulate_stimuli,
    "train-network": simulation.train_simulation_network,
    "extract": simulation.extract,
    "simulate-recordings": simulation.simulate_recordings,
    "ingest-eeg": ingestion.ingest_eeg,
    "ingest-fmri": ingestion.ingest_fmri,
    "ingest-meeg": ingestion.ingest_recording,
    "qc-report": ingestion.qc_report,
    "ingest-rdm": brain_rdms.ingest_rdm,
    "brain-rdms": brain_rdms.brain_rdms,
    "decode": brain_rdms.decode,
    "decode-identity": decoding.decode_layers,
    "concat-tables": decoding.concat_tables,
    "generalize": decoding.generalize,
    "generalize-group": decoding.generalize_group,
    "decoding-report": decoding.decoding_report,
    "encode": encoding.encode,
    "align": alignment.align,
    "model-rdms": model_rdms.ingest_model_rdm,
    "searchlight": searchlight.searchlight,
    "align-group": alignment.align_group,
    "recover": recovery.recover,
    "report": reporting.report,
}
