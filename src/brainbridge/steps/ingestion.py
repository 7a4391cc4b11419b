"""Steps that turn raw recordings into brain stores."""

from __future__ import annotations

from brainbridge.ingest.fmri import ingest_fmri as ingest_fmri_runs
from brainbridge.ingest.meeg import ingest_meeg
from brainbridge.store import provenance, write_store


def ingest_eeg(inputs: dict, outputs: dict, params: dict) -> None:
    """Raw M/EEG + event-code table -> preprocessed epochs store."""
    ds = ingest_meeg(
        inputs["raw"],
        inputs["events"],
        params["preprocessing"],
        modality=params.get("modality", "eeg"),
    )
    ds.attrs["dataset"] = params["name"]
    write_store(
        ds,
        outputs["store"],
        kind="epochs",
        provenance=provenance(inputs=inputs, config=params, step="ingest-eeg"),
    )


def ingest_fmri(inputs: dict, outputs: dict, params: dict) -> None:
    """BOLD runs + events + atlas -> single-trial responses store."""
    bold = inputs["bold"] if isinstance(inputs["bold"], list) else [inputs["bold"]]
    events = inputs["events"] if isinstance(inputs["events"], list) else [inputs["events"]]
    ds = ingest_fmri_runs(
        bold,
        events,
        inputs["atlas"],
        inputs["atlas_labels"],
        tr=params["tr"],
        glm=params.get("glm", {}),
    )
    ds.attrs["dataset"] = params["name"]
    flat_inputs = {
        f"{k}{i}": p
        for k, v in inputs.items()
        for i, p in enumerate(v if isinstance(v, list) else [v])
    }
    write_store(
        ds,
        outputs["store"],
        kind="responses",
        provenance=provenance(inputs=flat_inputs, config=params, step="ingest-fmri"),
    )
